// Local learning rules for PlasticLinear connections, registered by name in one table:
// hebbian, oja, three_factor. A rule maps (pre, post, dopamine, the layer's eligibility)
// to a weight change; apply_learning_rule applies it, waking dormant connections that it
// reinforces. Leaves out spike-timing rules.
//
//   elarin::nn::PlasticLinear layer(elarin::nn::PlasticLinearOptions(128, 10));  // all dormant
//   torch::Tensor pre = torch::randn({128}), post = torch::zeros({10});
//   post[2] = 1;                       // the channel that acted
//   layer->update_trace(pre, post);    // the eligibility three_factor reads
//   double rpe = 0.4;                  // dopamine: the reward-prediction error
//   elarin::brain::RuleInput in{pre, post, /*dopamine=*/rpe, /*lr=*/0.05};
//   int64_t woke = elarin::brain::apply_learning_rule("three_factor", *layer, in);
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "elarin/nn/plastic_linear.hpp"

namespace elarin::brain {

struct RuleInput {
  torch::Tensor pre;      // (B, in) or (in): presynaptic activity
  torch::Tensor post;     // (B, out) or (out): postsynaptic activity
  double dopamine = 0.0;  // the third factor: reward-prediction error
  double lr = 0.01;       // eta
};

struct LearningRule {
  std::string name;     // the registered name: a config and checkpoint contract
  std::string summary;  // one line for --help and errors
  // The change (out, in) for `layer`; does not modify the layer.
  std::function<torch::Tensor(const nn::PlasticLinearImpl& layer, const RuleInput& in)> delta;
};

// The table: hebbian, oja, three_factor.
const std::vector<LearningRule>& learning_rules();
// The rule called `name`; UsageError listing the valid names otherwise.
const LearningRule& learning_rule(const std::string& name);
// delta of `name`, applied through PlasticLinear::apply_delta. Returns connections woken.
int64_t apply_learning_rule(const std::string& name, nn::PlasticLinearImpl& layer,
                            const RuleInput& in);

}  // namespace elarin::brain
