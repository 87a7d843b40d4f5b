// Bidirectional multi-head self-attention (see the header).
#include "elarin/nn/self_attention.hpp"

#include <cmath>

namespace elarin::nn {

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t num_heads, bool key_bias)
    : num_heads_(num_heads) {
  TORCH_CHECK(num_heads > 0 && dim % num_heads == 0, "SelfAttention: dim ", dim,
              " is not a multiple of num_heads ", num_heads);
  q_proj = register_module("q_proj", torch::nn::Linear(dim, dim));
  k_proj = register_module("k_proj",
                           torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(key_bias)));
  v_proj = register_module("v_proj", torch::nn::Linear(dim, dim));
  out_proj = register_module("out_proj", torch::nn::Linear(dim, dim));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), D = C / num_heads_;
  auto heads = [&](const torch::Tensor& t) {
    return t.view({B, T, num_heads_, D}).transpose(1, 2);  // (B, H, T, D)
  };
  torch::Tensor q = heads(q_proj(x)), k = heads(k_proj(x)), v = heads(v_proj(x));
  torch::Tensor scores =
      torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(D));  // (B, H, T, T)
  torch::Tensor y = torch::matmul(torch::softmax(scores, -1), v);    // (B, H, T, D)
  return out_proj(y.transpose(1, 2).contiguous().view({B, T, C}));   // (B, T, C)
}

}  // namespace elarin::nn
