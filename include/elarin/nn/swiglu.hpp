// SwiGLU feed-forward as in Llama: down_proj(silu(gate_proj(x)) * up_proj(x)), Hugging Face's
// parameter names. On float32 CPU the gate and up projections run as one matmul and the
// gating is fused. Leaves out dropout (the caller's) and other gated activations.
//
//   elarin::nn::SwiGLU mlp(128, 352, /*bias=*/false);
//   torch::Tensor x = torch::randn({2, 16, 128});
//   auto y = mlp(x);  // (..., 128) -> (..., 128)
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace elarin::nn {

// silu(a) * b for gu = [a | b] along the last dim: (..., 2H) -> (..., H); one fused
// autograd node on float32 CPU tensors.
torch::Tensor swiglu_gate(const torch::Tensor& gu);

class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t dim, int64_t hidden, bool bias = false);
  torch::Tensor forward(const torch::Tensor& x);  // (..., dim) -> (..., dim)
  // The same as three separate matmuls and plain ops; forward fuses it on float32 CPU.
  torch::Tensor reference(const torch::Tensor& x);

  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(SwiGLU);

}  // namespace elarin::nn
