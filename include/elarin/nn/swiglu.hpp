// SwiGLU feed-forward as in Llama: down_proj(silu(gate_proj(x)) * up_proj(x)), Hugging Face's
// parameter names. Leaves out dropout (the caller's) and other gated activations.
//
//   elarin::nn::SwiGLU mlp(128, 352, /*bias=*/false);
//   auto y = mlp(x);  // (..., 128) -> (..., 128)
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace elarin::nn {

class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t dim, int64_t hidden, bool bias = false);
  torch::Tensor forward(const torch::Tensor& x);  // (..., dim) -> (..., dim)

  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(SwiGLU);

}  // namespace elarin::nn
