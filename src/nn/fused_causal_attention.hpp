// Fused causal self-attention for CPU training: RoPE + grouped-query causal softmax attention
// in one autograd node, reading q/k/v straight out of the fused projection's output and
// writing heads side by side, so no transposes, masks or per-op autograd nodes in between.
// The small per-(batch, head) matmuls go to BLAS (parallel over batch x heads), softmax and
// its backward to ATen's vectorised kernels. Leaves out a KV cache, dropout and non-float
// or non-CPU tensors: ElaraAttention keeps the reference path for those (and tests the two
// against each other).
//
//   // qkv (B, T, (H + 2 Hkv) D) = x @ [Wq; Wk; Wv]^T; cos/sin (T, D) RoPE tables
//   auto y = elarin::nn::fused_causal_attention(qkv, cos, sin, H, Hkv);  // (B, T, H D)
#pragma once

#include <torch/types.h>

namespace elarin::nn {

// qkv (B, T, (H + 2 Hkv) * D) float32 on CPU, rows laid out [q heads | k heads | v heads];
// cos, sin (T, D) in Hugging Face's rotate_half convention. Returns (B, T, H * D);
// differentiable with respect to qkv.
torch::Tensor fused_causal_attention(const torch::Tensor& qkv, const torch::Tensor& cos,
                                     const torch::Tensor& sin, int64_t n_head, int64_t n_kv_head);

// True when fused_causal_attention supports these tensors (float32, CPU).
bool fused_attention_supported(const torch::Tensor& x);

}  // namespace elarin::nn
