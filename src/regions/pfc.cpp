// Prefrontal cortex: working memory over recent ticks. It keeps the last `span` states it
// was shown (the thalamus's focus; silent ticks, all zeros, are not written) and outputs
// their recency-weighted mean, the newest with weight 1 and each older one `decay` times
// the next, scaled by `gain`: the context the thalamus fuses in (a feedback edge, so the
// context of tick t holds states up to t-1). Persisted as its slots, so a resumed brain
// remembers what it last saw. Leaves out learned gating of what to keep (every state is).
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct PfcSettings {
  int64_t input = 128;  // size of the state it remembers (the thalamus's focus)
  int64_t span = 8;     // ticks it remembers
  double decay = 0.7;   // weight of a state relative to the next newer one
  double gain = 0.5;    // scale of the context it outputs
  template <class V>
  void visit(V& v) {
    v("input", input, "size of the remembered state (the thalamus's focus)");
    v("span", span, "states it remembers (working memory slots)");
    v("decay", decay, "weight of each state relative to the next newer one (0..1)");
    v("gain", gain, "scale of the context output");
  }
};

class Pfc : public brain::Region {
 public:
  Pfc(const PfcSettings& s, const brain::BrainFacts&) : Region("pfc"), s_(s) {
    if (s.span < 1) throw UsageError("region.pfc.span: expected >= 1 slots");
    if (s.decay < 0 || s.decay > 1)
      throw UsageError("region.pfc.decay: " + std::to_string(s.decay) + ", expected 0..1");
    if (s.input < 1) throw UsageError("region.pfc.input: expected >= 1");
    initialise(0);
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"state", s_.input}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"context", s_.input}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    const auto& x = in.at("state");
    if (x.ne(0).any().item<bool>()) {  // newest first: shift the slots down by one
      slots_ = torch::cat({x.unsqueeze(0), slots_.narrow(0, 0, s_.span - 1)});
      filled_ = std::min(filled_ + 1, s_.span);
    }
    if (filled_ == 0) return {{"context", torch::zeros({s_.input})}};
    auto w = torch::pow(torch::full({filled_}, s_.decay), torch::arange(filled_).to(torch::kFloat));
    auto context = (w.unsqueeze(1) * slots_.narrow(0, 0, filled_)).sum(0) / w.sum();
    return {{"context", (context * s_.gain).to(torch::kFloat)}};
  }

  brain::RegionState state() const override {
    return {{"slots", slots_.clone()},
            {"filled", torch::tensor(std::vector<int64_t>{filled_}, torch::kLong)}};
  }
  void load_state(const brain::RegionState& st) override {
    const auto& slots = brain::state_tensor(st, "slots", {s_.span, s_.input}, torch::kFloat);
    const int64_t filled = brain::state_tensor(st, "filled", {1}, torch::kLong).item<int64_t>();
    if (filled < 0 || filled > s_.span)
      throw FormatError("state tensor 'filled' is " + std::to_string(filled) + ", expected 0.." +
                        std::to_string(s_.span));
    slots_ = slots.clone();
    filled_ = filled;
  }
  void initialise(uint64_t) override {
    slots_ = torch::zeros({s_.span, s_.input});
    filled_ = 0;
  }

 private:
  PfcSettings s_;
  torch::Tensor slots_;  // (span, input) newest first
  int64_t filled_ = 0;   // slots holding a state
};

}  // namespace

brain::RegionKind pfc_kind() {
  return brain::make_region_kind<Pfc, PfcSettings>(
      "pfc", "working memory: recency-weighted mean of the last span states -> context");
}

}  // namespace elarin::regions
