// PersonalityEngine: per-batch gate controls from a few traits and the batch's signals --
// bias_logits (curiosity favours under-used experts), temperature (explore when the gate
// collapses), distill_alpha (stability teaches harder while the loss rises) and
// merit_momentum (stable personalities remember longer). Deterministic; leaves out learning
// the traits themselves.
//
//   #include "elarin/nn/moe/moe_core.hpp"
//   elarin::nn::PersonalityConfig traits;  // curiosity, stability, ...
//   elarin::nn::PersonalityEngine persona(traits, /*experts=*/8);
//   double loss = 0.7, entropy_norm = 0.9;
//   std::vector<double> utilization(8, 1.0 / 8);
//   elarin::nn::PersonalityState state = persona.step({loss, entropy_norm, utilization});
//   elarin::nn::MoEConfig cfg;  // 8 experts, d_model 256
//   elarin::nn::MoECore core(cfg);
//   elarin::nn::GateControl control;
//   control.bias = state.bias_logits;  control.temperature = state.temperature;
//   auto out = core->forward(torch::randn({4, 256}), {}, control);
#pragma once

#include <torch/types.h>

#include <vector>

#include "elarin/core/config.hpp"

namespace elarin::nn {

struct PersonalityConfig {
  bool enabled = true;
  double curiosity = 0.3;
  double stability = 0.5;
  double base_temperature = 1.0;
  double base_distill_alpha = 0.5;
  double loss_short = 0.9;
  double loss_long = 0.99;
  template <class V>
  void visit(V& v) {
    v("enabled", enabled,
      "per-batch gate controls from the personality (off: neutral state, no bias, the config's "
      "temperature)");
    v("curiosity", curiosity, "pull toward under-used experts, heat when collapsed",
      in_range(0, 1));
    v("stability", stability, "distil harder on rising loss, longer merit memory", in_range(0, 1));
    v("base_temperature", base_temperature, "gate temperature at neutral", greater_than(0));
    v("base_distill_alpha", base_distill_alpha, "distillation weight at neutral", in_range(0, 1));
    v("loss_short", loss_short, "EMA factor of the short loss average", in_range(0, 1));
    v("loss_long", loss_long, "EMA factor of the long loss average", in_range(0, 1));
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
