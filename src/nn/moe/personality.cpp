// PersonalityEngine: the trait-to-control rules, written out so they can be read and tested.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/personality.hpp"

namespace elarin::nn {

void PersonalityConfig::validate() const { check_constraints(*this, "moe.personality"); }

PersonalityEngine::PersonalityEngine(const PersonalityConfig& config, int64_t experts)
    : config_(config), experts_(experts) {
  config_.validate();
  if (experts < 1)
    throw UsageError("PersonalityEngine: experts must be >= 1, got " + std::to_string(experts));
  state_.bias_logits = torch::zeros({experts});
  state_.temperature = config_.base_temperature;
  state_.distill_alpha = config_.base_distill_alpha;
  state_.merit_momentum = 0.8 + 0.19 * config_.stability;
}

PersonalityState PersonalityEngine::step(const BatchSignals& s) {
  if (!config_.enabled) return state_;
  ++steps_;
  if (steps_ == 1) short_ = long_ = s.loss;
  short_ = config_.loss_short * short_ + (1 - config_.loss_short) * s.loss;
  long_ = config_.loss_long * long_ + (1 - config_.loss_long) * s.loss;
  const double frustration = std::clamp((short_ - long_) / std::max(long_, 1e-8), 0.0, 1.0);

  PersonalityState next;
  // Curiosity: bias = c * clamp(-log(E_avail * u), -1, 1): a share below uniform gets a
  // positive bias, above uniform a negative one; unused (u = 0) experts get +c.
  auto bias = torch::zeros({experts_});
  const double n = static_cast<double>(std::max<int64_t>(
      s.available > 0 ? s.available : static_cast<int64_t>(s.utilization.size()), 1));
  for (int64_t e = 0; e < experts_ && e < static_cast<int64_t>(s.utilization.size()); ++e) {
    const double u = s.utilization[e];
    bias[e] = config_.curiosity * (u > 0 ? std::clamp(-std::log(n * u), -1.0, 1.0) : 1.0);
  }
  next.bias_logits = bias;
  // Heat the gate when it collapses (low entropy), up to (1 + curiosity) x base.
  next.temperature = config_.base_temperature *
                     (1 + config_.curiosity * (1 - std::clamp(s.gate_entropy, 0.0, 1.0)));
  next.distill_alpha =
      std::clamp(config_.base_distill_alpha * (1 + config_.stability * frustration), 0.0, 1.0);
  next.merit_momentum = 0.8 + 0.19 * config_.stability * (1 - frustration);
  next.frustration = frustration;
  state_ = next;
  return state_;
}

}  // namespace elarin::nn
