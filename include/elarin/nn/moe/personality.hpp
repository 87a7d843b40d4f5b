// PersonalityEngine: per-batch gate controls from a few traits and the batch's signals --
// bias_logits (curiosity favours under-used experts), temperature (explore when the gate
// collapses), distill_alpha (stability teaches harder while the loss rises) and
// merit_momentum (stable personalities remember longer). Deterministic; leaves out learning
// the traits themselves.
//
//   elarin::nn::PersonalityEngine persona(cfg, /*experts=*/8);
//   auto state = persona.step({loss, entropy_norm, utilization});
//   core->forward(x, {}, {state.bias_logits, state.temperature});
#pragma once

#include <torch/types.h>

#include <vector>

namespace elarin::nn {

struct PersonalityConfig {
  bool enabled = true;              // off: neutral state (no bias, config temperature)
  double curiosity = 0.3;           // 0..1: pull toward under-used experts, heat when collapsed
  double stability = 0.5;           // 0..1: distil harder on rising loss, longer merit memory
  double base_temperature = 1.0;    // gate temperature at neutral
  double base_distill_alpha = 0.5;  // distillation weight at neutral
  double loss_short = 0.9;          // EMA factor of the short loss average
  double loss_long = 0.99;          // EMA factor of the long loss average
  template <class V>
  void visit(V& v) {
    v("enabled", enabled, "per-batch gate controls from the personality");
    v("curiosity", curiosity, "0..1 pull toward under-used experts");
    v("stability", stability, "0..1 distil harder when the loss rises");
    v("base_temperature", base_temperature, "gate temperature at neutral");
    v("base_distill_alpha", base_distill_alpha, "distillation weight at neutral");
    v("loss_short", loss_short, "EMA factor, short loss average");
    v("loss_long", loss_long, "EMA factor, long loss average");
  }
  void validate() const;
};

struct BatchSignals {
  double loss = 0;                  // the batch's task loss
  double gate_entropy = 0;          // mean gate entropy / log(available), in [0, 1]
  std::vector<double> utilization;  // per expert: share of routed rows (sums to 1 over avail)
  int64_t available = 0;            // experts that can be routed to; 0 = utilization.size()
};

struct PersonalityState {
  torch::Tensor bias_logits;  // (E,) additive gate bias
  double temperature = 1;
  double distill_alpha = 0.5;
  double merit_momentum = 0.9;
  double frustration = 0;  // relative rise of the short loss average over the long one
};

class PersonalityEngine {
 public:
  PersonalityEngine(const PersonalityConfig& config, int64_t experts);
  PersonalityState step(const BatchSignals& signals);
  const PersonalityState& state() const { return state_; }

 private:
  PersonalityConfig config_;
  int64_t experts_;
  double short_ = 0, long_ = 0;
  int64_t steps_ = 0;
  PersonalityState state_;
};

}  // namespace elarin::nn
