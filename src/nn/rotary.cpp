// Rotary position embedding (see the header).
#include "elarin/nn/rotary.hpp"

#include <torch/torch.h>

namespace elarin::nn {
namespace {

torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t h = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
}

}  // namespace

Rotary::Rotary(int64_t head_dim, double theta, const RopeScaling& scaling) : head_dim_(head_dim) {
  TORCH_CHECK(head_dim > 0 && head_dim % 2 == 0, "Rotary: head_dim must be even, got ", head_dim);
  scaling.validate("rope_scaling");
  // Computed in float64, then cast as HF casts its float32 result.
  const auto f = rope_inv_freq(head_dim, theta, scaling);
  inv_freq_ = torch::tensor(f, torch::kDouble).to(torch::kFloat);
}

std::pair<torch::Tensor, torch::Tensor> Rotary::cached(int64_t length, torch::Device device) {
  // Two shards' threads may ask at once; one grows the tables while the other waits (reading
  // cos_ while it is reassigned once failed as "start (0) + length (64) exceeds dimension 0").
  std::lock_guard<std::mutex> lock(*mutex_);
  if (cos_.defined() && cos_.size(0) >= length && cos_.device() == device) return {cos_, sin_};
  const int64_t L = std::max<int64_t>(length, cos_.defined() ? 2 * cos_.size(0) : 256);
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(device);
  auto pos = torch::arange(L, torch::TensorOptions().dtype(torch::kFloat));
  auto freqs = torch::outer(pos, inv_freq_);  // (L, D/2)
  auto emb = torch::cat({freqs, freqs}, -1);  // (L, D)
  cos_ = emb.cos().to(opts);
  sin_ = emb.sin().to(opts);
  return {cos_, sin_};
}

std::pair<torch::Tensor, torch::Tensor> Rotary::tables(int64_t offset, int64_t T,
                                                       torch::Device device) {
  const auto [cos, sin] = cached(offset + T, device);
  return {cos.narrow(0, offset, T), sin.narrow(0, offset, T)};
}

std::pair<torch::Tensor, torch::Tensor> Rotary::apply_at(const torch::Tensor& q,
                                                         const torch::Tensor& k,
                                                         const torch::Tensor& positions,
                                                         int64_t end) {
  TORCH_CHECK(q.size(-1) == head_dim_ && k.size(-1) == head_dim_, "Rotary: head_dim ", head_dim_,
              ", got q ", q.sizes(), " k ", k.sizes());
  TORCH_CHECK(positions.dim() == 1 && positions.size(0) == q.size(2), "Rotary: ", q.size(2),
              " positions expected, got ", positions.sizes());
  const auto [cos_all, sin_all] = cached(end, q.device());
  auto cos = cos_all.index_select(0, positions).to(q.scalar_type());  // (N, D)
  auto sin = sin_all.index_select(0, positions).to(q.scalar_type());
  return {q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin};
}

std::pair<torch::Tensor, torch::Tensor> Rotary::apply(const torch::Tensor& q,
                                                      const torch::Tensor& k, int64_t offset) {
  const int64_t T = q.size(2);
  TORCH_CHECK(q.size(-1) == head_dim_ && k.size(-1) == head_dim_, "Rotary: head_dim ", head_dim_,
              ", got q ", q.sizes(), " k ", k.sizes());
  auto [cos, sin] = tables(offset, T, q.device());  // (T, D)
  cos = cos.to(q.scalar_type());
  sin = sin.to(q.scalar_type());
  return {q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin};
}

}  // namespace elarin::nn
