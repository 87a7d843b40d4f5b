// A sparse reward model for the regions that learn values from outcomes (the motor, the
// dmn): a Bio-MoE (nn/moe) that reads a state and predicts one value per name. Its output
// layers start at zero, so it predicts nothing until it learns; balance is aux-loss-free (a
// single row's Switch loss would say little). A learning step is plain SGD on
// 0.5 x sum of mask x (prediction - target)^2 (the mask says which names a row teaches):
// only the routed experts (top_k per row) and the gate get gradients, so only they change.
// Internal to regions/.
#pragma once

#include <torch/torch.h>

#include <string>

#include "elarin/brain/region.hpp"
#include "elarin/nn/moe/moe_core.hpp"

namespace elarin::regions {

struct RewardModelShape {
  int64_t input = 512;          // state size
  int64_t names = 10;           // one value per vocabulary name
  int64_t experts = 16;         // routed experts
  int64_t expert_hidden = 256;  // hidden units of each expert (input -> hidden -> names)
  int64_t top_k = 2;            // experts per row
};

class RewardModel {
 public:
  RewardModel(const RewardModelShape& shape, uint64_t seed);
  // x (N, input) -> (N, names), without gradients.
  torch::Tensor predict(const torch::Tensor& x);
  // One SGD step of rate `lr`: x (N, input), targets and mask (N, names), mask 1 where a
  // target is known and 0 elsewhere.
  void learn(const torch::Tensor& x, const torch::Tensor& targets, const torch::Tensor& mask,
             double lr);
  // The weights as "<prefix>.<parameter>" plus "<prefix>.balance_bias".
  void add_state(brain::RegionState& st, const std::string& prefix) const;
  // Validates every tensor first (FormatError naming it), then copies; unchanged on error.
  void load_state(const brain::RegionState& st, const std::string& prefix);

 private:
  RewardModelShape shape_;
  nn::MoECore net_{nullptr};
};

}  // namespace elarin::regions
