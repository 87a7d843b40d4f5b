// The learning-rule table (see the header).
#include "elarin/brain/learning_rules.hpp"

#include <torch/torch.h>

#include "elarin/core/find_named.hpp"

namespace elarin::brain {
namespace {

torch::Tensor rows(const torch::Tensor& t) { return t.dim() == 1 ? t.unsqueeze(0) : t; }

// Hebb: dW = eta * mean_b post_b (x) pre_b. No third factor.
torch::Tensor hebbian(const nn::PlasticLinearImpl&, const RuleInput& in) {
  auto x = rows(in.pre), y = rows(in.post);
  return torch::matmul(y.t(), x) * (in.lr / double(x.size(0)));  // (out, in)
}

// Oja's subspace rule: dW = eta * mean_b (y x^T - y y^T W), y the layer's own output. The
// decay term keeps each row's norm near 1: the rows converge to the input's principal
// subspace. Dormant connections read as 0 in W.
torch::Tensor oja(const nn::PlasticLinearImpl& layer, const RuleInput& in) {
  auto x = rows(in.pre), y = rows(in.post);
  auto w = layer.live_weight();                                                   // (out, in)
  auto dw = torch::matmul(y.t(), x) - torch::matmul(torch::matmul(y.t(), y), w);  // (out, in)
  return dw * (in.lr / double(x.size(0)));
}

// Three-factor: dW = eta * dopamine * eligibility. The trace (pre x post, decaying) is what
// the region wrote with update_trace while it acted; dopamine says whether that was good.
torch::Tensor three_factor(const nn::PlasticLinearImpl& layer, const RuleInput& in) {
  return layer.eligibility * (in.lr * in.dopamine);
}

}  // namespace

const std::vector<LearningRule>& learning_rules() {
  static const std::vector<LearningRule> table = {
      {"hebbian", "dW = lr * post (x) pre", hebbian},
      {"oja", "dW = lr * (y x^T - y y^T W): principal subspace", oja},
      {"three_factor", "dW = lr * dopamine * eligibility (decaying pre x post)", three_factor},
  };
  return table;
}

const LearningRule& learning_rule(const std::string& name) {
  return find_named(learning_rules(), name, "learning rule");
}

int64_t apply_learning_rule(const std::string& name, nn::PlasticLinearImpl& layer,
                            const RuleInput& in) {
  torch::NoGradGuard no_grad;
  return layer.apply_delta(learning_rule(name).delta(layer, in));
}

}  // namespace elarin::brain
