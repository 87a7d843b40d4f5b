// Cerebellum: corrects the motor plan where it keeps failing the same way. Its error signal
// (the climbing fibre) is the reward of an answer that repeated the previous one: it learns,
// per name, how often repeating that name was wrong, g <- g + rate (1 - g) after a punished
// repetition and g <- g - rate g after a rewarded one. Each tick it outputs a correction
// that holds back the answer just given, -g[previous] (zero for every other name), so a
// brain stuck saying the same name to everything is pushed off it, while a name that is
// often rightly repeated keeps g near 0. The previous answer arrives on `previous` (the
// motor's `emitted`, a backward edge: last tick's value).
//
// With `granules` > 0 it is also Marr and Albus's cerebellum, the seed's ~3M allocation: the
// state on `state` (mossy fibres) is expanded by a fixed sparse random projection into many
// granule cells, of which the `granule_active` most driven fire (k winners, unit length). The
// Purkinje readout learns, per name, the error of the plan: the reward minus the value the
// basal ganglia expected for the answer given (the climbing fibre), by the normalised delta
// rule on the answer's row only. Its prediction for every name joins the correction, so the
// motor's plan is corrected where the basal ganglia's linear value keeps being wrong.
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct CerebellumSettings {
  double rate = 0.1;
  int64_t granules = 0;
  int64_t granule_active = 64;
  int64_t granule_inputs = 16;
  int64_t input = 512;
  double purkinje_rate = 0.2;
  template <class V>
  void visit(V& v) {
    v("rate", rate, "learning rate of each name's repetition-error estimate g",
      in_range(0, 1).open_low());
    v("granules", granules, "granule cells expanding `state` (Marr-Albus); 0 = none", at_least(0));
    v("granule_active", granule_active,
      "granule cells that fire per tick (k winners; at most granules)", at_least(1));
    v("granule_inputs", granule_inputs,
      "mossy fibres (state entries) each granule cell reads (at most input)", at_least(1));
    v("input", input,
      "size of the `state` port the granule cells read (the thalamus's fused "
      "vector)",
      at_least(1));
    v("purkinje_rate", purkinje_rate, "normalised delta-rule step of the Purkinje readout",
      in_range(0, 1).open_low());
  }
};

class Cerebellum : public brain::Region {
 public:
  Cerebellum(const CerebellumSettings& s, const brain::BrainFacts& f)
      : Region("cerebellum"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.cerebellum");
    if (s.granules > 0 && s.granule_active > s.granules)
      throw UsageError("region.cerebellum.granule_active: got " + std::to_string(s.granule_active) +
                       ", expected <= " + std::to_string(s.granules) +
                       " (region.cerebellum.granules)");
    if (s.granules > 0 && s.granule_inputs > s.input)
      throw UsageError("region.cerebellum.granule_inputs: got " + std::to_string(s.granule_inputs) +
                       ", expected <= " + std::to_string(s.input) + " (region.cerebellum.input)");
    initialise(f.seed);
  }
  std::vector<brain::PortSpec> inputs() const override {
    if (s_.granules > 0) return {{"previous", vocab_}, {"state", s_.input}};
    return {{"previous", vocab_}};
  }
  std::vector<brain::PortSpec> outputs() const override { return {{"correction", vocab_}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    const auto& prev = in.at("previous");
    previous_ = prev.max().item<float>() > 0 ? prev.argmax().item<int64_t>() : -1;
    auto correction = torch::zeros({vocab_});
    if (previous_ >= 0) correction[previous_] = -error_[previous_];
    if (s_.granules > 0) {
      fire(in.at("state"));  // the k winners: fired_ ids, rates_ unit length (or zero)
      correction += torch::mv(purkinje_.index_select(1, fired_), rates_);  // (V) predicted error
    }
    return {{"correction", correction}};
  }

  void learn(const brain::Neuromodulators& m) override {
    if (m.action < 0 || m.action >= vocab_ || m.reward == 0) return;
    if (fired_.defined()) {  // climbing fibre: the answer's error, on its row only
      auto row = purkinje_[m.action];
      auto w = row.index_select(0, fired_);  // (k)
      const double err = m.reward - m.expected - w.dot(rates_).item<double>();
      row.index_copy_(0, fired_, w + s_.purkinje_rate * err * rates_);  // rates_: unit length
      fired_ = torch::Tensor();
    }
    if (m.action != previous_) return;
    auto g = error_[m.action];
    g += m.reward < 0 ? s_.rate * (1 - g) : -s_.rate * g;
  }

  brain::RegionState state() const override {
    brain::RegionState st = {{"repetition_error", error_.clone()}};
    if (s_.granules > 0) {
      st["granule.inputs"] = mossy_inputs_.clone();
      st["granule.signs"] = mossy_signs_.clone();
      st["purkinje.weight"] = purkinje_.clone();
    }
    return st;
  }
  void load_state(const brain::RegionState& st) override {
    const auto& e = brain::state_tensor(st, "repetition_error", {vocab_}, torch::kFloat);
    if (e.numel() > 0 && (e.min().item<float>() < 0 || e.max().item<float>() > 1))
      throw FormatError("state tensor 'repetition_error' holds values outside 0..1");
    if (s_.granules > 0) {
      const std::vector<int64_t> shape = {s_.granules, s_.granule_inputs};
      const auto& ids = brain::state_tensor(st, "granule.inputs", shape, torch::kLong);
      const auto& signs = brain::state_tensor(st, "granule.signs", shape, torch::kFloat);
      const auto& p =
          brain::state_tensor(st, "purkinje.weight", {vocab_, s_.granules}, torch::kFloat);
      if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= s_.input)
        throw FormatError("state tensor 'granule.inputs' reads outside the state's " +
                          std::to_string(s_.input) + " entries");
      mossy_inputs_ = ids.clone();
      mossy_signs_ = signs.clone();
      purkinje_ = p.clone();
    }
    error_ = e.clone();
  }
  void initialise(uint64_t seed) override {
    error_ = torch::zeros({vocab_});
    if (s_.granules == 0) return;
    // Each granule cell reads granule_inputs random state entries with random signs (a few
    // mossy fibres per granule cell, as in the cerebellar cortex). Fixed for life.
    auto gen = at::detail::createCPUGenerator(seed);
    // Entries drawn with replacement: a repeat is a stronger synapse, as a random wiring has.
    mossy_inputs_ = torch::randint(0, s_.input, {s_.granules, s_.granule_inputs}, gen);
    mossy_signs_ =
        torch::randint(0, 2, {s_.granules, s_.granule_inputs}, gen).to(torch::kFloat) * 2 - 1;
    purkinje_ = torch::zeros({vocab_, s_.granules});
  }

 private:
  CerebellumSettings s_;
  int64_t vocab_;
  // The granule layer on state x: each cell's drive is the signed sum of its inputs; the
  // granule_active most driven fire at their drive above the next cell's, scaled to unit
  // length (all zero for an all-zero state). Sets fired_ (k ids) and rates_ (k).
  void fire(const torch::Tensor& x) {
    auto drive =
        (x.index_select(0, mossy_inputs_.flatten()).view(mossy_inputs_.sizes()) * mossy_signs_)
            .sum(1);  // (G)
    auto top = drive.topk(std::min(s_.granule_active + 1, s_.granules));
    const auto& vals = std::get<0>(top);
    fired_ = std::get<1>(top).narrow(0, 0, s_.granule_active).contiguous();
    rates_ = (vals.narrow(0, 0, s_.granule_active) - vals[vals.size(0) - 1]).clamp_min(0);
    const double n = rates_.norm().item<double>();
    if (n > 0) rates_ /= n;
  }

  torch::Tensor error_;         // (V) per name: how often repeating it was wrong
  torch::Tensor mossy_inputs_;  // (G, granule_inputs) int64 state entries each cell reads; fixed
  torch::Tensor mossy_signs_;   // (G, granule_inputs) +-1 synapse signs; fixed
  torch::Tensor purkinje_;      // (V, G) learned granule -> Purkinje readout
  torch::Tensor fired_;         // (k) int64 this tick's firing granule cells, for learn
  torch::Tensor rates_;         // (k) their rates
  int64_t previous_ = -1;
};

}  // namespace

brain::RegionKind cerebellum_kind() {
  return brain::make_region_kind<Cerebellum, CerebellumSettings>(
      "cerebellum", "corrects the plan: holds back repeating an answer where repeating failed");
}

}  // namespace elarin::regions
