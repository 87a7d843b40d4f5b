// Cerebellum: corrects the motor plan where it keeps failing the same way. Its error signal
// (the climbing fibre) is the reward of an answer that repeated the previous one: it learns,
// per name, how often repeating that name was wrong, g <- g + rate (1 - g) after a punished
// repetition and g <- g - rate g after a rewarded one. Each tick it outputs a correction
// that holds back the answer just given, -g[previous] (zero for every other name), so a
// brain stuck saying the same name to everything is pushed off it, while a name that is
// often rightly repeated keeps g near 0. The previous answer arrives on `previous` (the
// motor's `emitted`, a backward edge: last tick's value).
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct CerebellumSettings {
  double rate = 0.1;  // learning rate of the repetition-error estimate g
  template <class V>
  void visit(V& v) {
    v("rate", rate, "learning rate of each name's repetition-error estimate (0..1)");
  }
};

class Cerebellum : public brain::Region {
 public:
  Cerebellum(const CerebellumSettings& s, const brain::BrainFacts& f)
      : Region("cerebellum"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    if (s.rate <= 0 || s.rate > 1)
      throw UsageError("region.cerebellum.rate: expected 0 < rate <= 1");
    initialise(0);
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"previous", vocab_}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"correction", vocab_}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    const auto& prev = in.at("previous");
    previous_ = prev.max().item<float>() > 0 ? prev.argmax().item<int64_t>() : -1;
    auto correction = torch::zeros({vocab_});
    if (previous_ >= 0) correction[previous_] = -error_[previous_];
    return {{"correction", correction}};
  }

  void learn(const brain::Neuromodulators& m) override {
    if (m.action < 0 || m.action >= vocab_ || m.action != previous_ || m.reward == 0) return;
    auto g = error_[m.action];
    g += m.reward < 0 ? s_.rate * (1 - g) : -s_.rate * g;
  }

  brain::RegionState state() const override { return {{"repetition_error", error_.clone()}}; }
  void load_state(const brain::RegionState& st) override {
    const auto& e = brain::state_tensor(st, "repetition_error", {vocab_}, torch::kFloat);
    if (e.numel() > 0 && (e.min().item<float>() < 0 || e.max().item<float>() > 1))
      throw FormatError("state tensor 'repetition_error' holds values outside 0..1");
    error_ = e.clone();
  }
  void initialise(uint64_t) override { error_ = torch::zeros({vocab_}); }

 private:
  CerebellumSettings s_;
  int64_t vocab_;
  torch::Tensor error_;  // (V) per name: how often repeating it was wrong
  int64_t previous_ = -1;
};

}  // namespace

brain::RegionKind cerebellum_kind() {
  return brain::make_region_kind<Cerebellum, CerebellumSettings>(
      "cerebellum", "corrects the plan: holds back repeating an answer where repeating failed");
}

}  // namespace elarin::regions
