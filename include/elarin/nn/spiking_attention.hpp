// SpikingAttention: k-winners-take-all gains over channels. A linear scorer rates each
// channel of a row; the k highest "spike" (gain 1), the rest get `floor`. The forward pass
// uses the hard gains; the backward pass uses the gradient of sigmoid(score)
// (straight-through), so the scorer learns. Leaves out membrane dynamics across time.
//
//   elarin::nn::SpikingAttention att(64, /*winners=*/16);
//   torch::Tensor x = torch::randn({8, 64, 49});  // (N, C, L)
//   torch::Tensor summary = x.mean(2);            // (N, 64): what the scorer rates
//   auto gains = att->gains(summary);             // (N, 64) in {floor, 1}, 16 ones per row
//   auto y = att(x, summary);                     // x * gains -> (N, 64, L)
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace elarin::nn {

class SpikingAttentionImpl : public torch::nn::Module {
 public:
  SpikingAttentionImpl(int64_t channels, int64_t winners, double floor = 0.0);
  // summary (N, C) -> gains (N, C): hard k-WTA forward, straight-through sigmoid backward.
  torch::Tensor gains(const torch::Tensor& summary);
  // x (N, C, L) or (N, C); summary (N, C) (defaults to x averaged over L).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& summary = {});
  int64_t winners() const { return winners_; }

  torch::nn::Linear scorer{nullptr};

 private:
  int64_t channels_, winners_;
  double floor_;
};
TORCH_MODULE(SpikingAttention);

}  // namespace elarin::nn
