// Bidirectional multi-head self-attention with Hugging Face's parameter names
// (q_proj, k_proj, v_proj, out_proj), shared by the CLIP vision and Whisper encoders.
// Leaves out causal masks and KV caches (GPT-2 has its own fused c_attn layout).
//
//   elarin::nn::SelfAttention attn(64, 4, /*key_bias=*/false);  // Whisper's k_proj has no bias
//   torch::Tensor x = torch::randn({2, 10, 64});
//   auto y = attn(x);  // (B, T, 64) -> (B, T, 64)
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace elarin::nn {

class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t dim, int64_t num_heads, bool key_bias = true);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C) -> (B, T, C)

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(SelfAttention);

}  // namespace elarin::nn
