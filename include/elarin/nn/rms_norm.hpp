// RMSNorm as in Llama / Hugging Face's LlamaRMSNorm: x / sqrt(mean(x^2) + eps) * weight,
// computed in float32 and cast back; float32 CPU tensors take a fused kernel (one autograd
// node). Leaves out the bias (Llama has none).
//
//   elarin::nn::RMSNorm norm(128, 1e-5);
//   torch::Tensor x = torch::randn({2, 16, 128});
//   auto y = norm(x);  // (..., 128) -> (..., 128)
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace elarin::nn {

class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t dim, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);  // (..., dim) -> (..., dim)
  // The same with plain tensor ops (any dtype or device); forward fuses it on float32 CPU.
  torch::Tensor reference(const torch::Tensor& x);

  torch::Tensor weight;  // (dim) starts at 1

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace elarin::nn
