// SpikingAttention: k-WTA channel gains with a straight-through estimator.
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/nn/spiking_attention.hpp"

namespace elarin::nn {

SpikingAttentionImpl::SpikingAttentionImpl(int64_t channels, int64_t winners, double floor)
    : channels_(channels), winners_(winners), floor_(floor) {
  if (channels < 1 || winners < 1 || winners > channels)
    throw UsageError("SpikingAttention: winners must be 1 .. channels (" +
                     std::to_string(channels) + "), got " + std::to_string(winners));
  if (floor < 0 || floor > 1)
    throw UsageError("SpikingAttention: floor must be 0 .. 1, got " + std::to_string(floor));
  scorer = register_module("scorer", torch::nn::Linear(channels, channels));
  // Start near identity so early winners are the strongest channels themselves.
  torch::NoGradGuard no_grad;
  scorer->weight.copy_(torch::eye(channels) + 0.01 * torch::randn({channels, channels}));
  scorer->bias.zero_();
}

torch::Tensor SpikingAttentionImpl::gains(const torch::Tensor& summary) {
  auto score = scorer(summary);                     // (N, C)
  auto top = std::get<1>(score.topk(winners_, 1));  // (N, k)
  auto hard = torch::full_like(score, floor_).scatter(1, top, 1.0);
  auto soft = floor_ + (1 - floor_) * torch::sigmoid(score);
  return hard + (soft - soft.detach());  // value: hard; gradient: soft
}

torch::Tensor SpikingAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& summary) {
  TORCH_CHECK(x.size(1) == channels_, "SpikingAttention: expected ", channels_, " channels, got ",
              x.sizes());
  const auto s = summary.defined() ? summary : (x.dim() == 2 ? x : x.mean(2));
  auto g = gains(s);  // (N, C)
  return x.dim() == 2 ? x * g : x * g.unsqueeze(2);
}

}  // namespace elarin::nn
