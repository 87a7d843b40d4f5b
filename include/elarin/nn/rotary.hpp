// Rotary position embedding (RoPE) in Hugging Face's Llama convention: frequencies
// theta^(-2i/D) for i < D/2, cos/sin tables of width D (the half repeated), and
// rotate_half(x) = cat(-x[D/2:], x[:D/2]); the frequencies optionally scaled (linear, llama3:
// nn/rope_scaling.hpp). The tables grow on demand under a lock: data-parallel shards call one
// model's attention from several threads at once. Leaves out partial rotary dimensions.
//
//   elarin::nn::Rotary rope(/*head_dim=*/32, /*theta=*/10000.0);
//   elarin::nn::RopeScaling s;  s.type = "linear";  s.factor = 2;
//   elarin::nn::Rotary stretched(32, 10000.0, s);  // position p rotates as p / 2 does above
//   torch::Tensor q = torch::randn({1, 4, 8, 32});  // (B, H, T, D)
//   torch::Tensor k = torch::randn({1, 2, 8, 32});  // (B, H_kv, T, D)
//   auto [q2, k2] = rope.apply(q, k, /*offset=*/0);  // positions offset .. offset + T - 1
#pragma once

#include <torch/types.h>

#include <memory>
#include <mutex>
#include <utility>

#include "elarin/nn/rope_scaling.hpp"

namespace elarin::nn {

class Rotary {
 public:
  // `scaling` is validated (UsageError naming rope_scaling.<key>).
  Rotary(int64_t head_dim, double theta = 10000.0, const RopeScaling& scaling = RopeScaling());
  // Rotates q (B, Hq, T, D) and k (B, Hk, T, D) for positions offset .. offset + T - 1.
  std::pair<torch::Tensor, torch::Tensor> apply(const torch::Tensor& q, const torch::Tensor& k,
                                                int64_t offset = 0);
  // Rotates q (B, Hq, N, D) and k (B, Hk, N, D) at arbitrary positions (N) int64, all < end.
  std::pair<torch::Tensor, torch::Tensor> apply_at(const torch::Tensor& q, const torch::Tensor& k,
                                                   const torch::Tensor& positions, int64_t end);
  // The (T, D) float32 cos and sin tables for positions offset .. offset + T - 1.
  std::pair<torch::Tensor, torch::Tensor> tables(int64_t offset, int64_t T, torch::Device device);
  int64_t head_dim() const { return head_dim_; }
  // The (D/2) float32 inverse frequencies the tables use: position p, pair i turns p * f_i.
  const torch::Tensor& inv_freq() const { return inv_freq_; }

 private:
  // The cached (L >= length, D) cos and sin tables on `device`, grown first if needed.
  std::pair<torch::Tensor, torch::Tensor> cached(int64_t length, torch::Device device);
  int64_t head_dim_;
  torch::Tensor inv_freq_;  // (D/2) float32, scaled
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();  // guards cos_, sin_
  torch::Tensor cos_, sin_;  // (L, D) float32 tables for positions 0 .. L-1
};

}  // namespace elarin::nn
