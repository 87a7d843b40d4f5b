// The regions' sparse reward model (see reward_model.hpp).
#include "regions/reward_model.hpp"

#include "regions/module_state.hpp"

namespace elarin::regions {

RewardModel::RewardModel(const RewardModelShape& shape, uint64_t seed) : shape_(shape) {
  torch::manual_seed(seed);
  nn::MoEConfig c;
  c.d_model = shape.input;
  c.d_out = shape.names;
  c.expert_hidden = shape.expert_hidden;
  c.expert_count = c.active_experts = shape.experts;
  c.top_k = shape.top_k;
  c.balance = "bias";
  net_ = nn::MoECore(c);
  torch::NoGradGuard no_grad;  // predict nothing until it learns
  for (auto& p : net_->named_parameters())
    if (p.key().find("fc2") != std::string::npos) p.value().zero_();
}

torch::Tensor RewardModel::predict(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return net_->forward(x).y;
}

void RewardModel::learn(const torch::Tensor& x, const torch::Tensor& targets,
                        const torch::Tensor& mask, double lr) {
  auto out = net_->forward(x);
  auto loss = 0.5 * (mask * (out.y - targets).pow(2)).sum();
  loss.backward();
  torch::NoGradGuard no_grad;
  for (auto& p : net_->parameters())
    if (p.grad().defined()) {  // unrouted experts have none
      p.sub_(lr * p.grad());
      p.mutable_grad() = torch::Tensor();
    }
  net_->update_balance_bias(out.topk_index);
}

void RewardModel::add_state(brain::RegionState& st, const std::string& prefix) const {
  add_module_state(st, prefix, *net_);
  st[prefix + ".balance_bias"] = net_->named_buffers()["balance_bias"].clone();
}

void RewardModel::load_state(const brain::RegionState& st, const std::string& prefix) {
  check_module_state(st, prefix, *net_);
  const auto& bias =
      brain::state_tensor(st, prefix + ".balance_bias", {shape_.experts}, torch::kFloat);
  copy_module_state(st, prefix, *net_);
  net_->named_buffers()["balance_bias"].copy_(bias);
}

}  // namespace elarin::regions
