// SwiGLU feed-forward (see the header).
#include "elarin/nn/swiglu.hpp"

#include <torch/torch.h>

namespace elarin::nn {

SwiGLUImpl::SwiGLUImpl(int64_t dim, int64_t hidden, bool bias) {
  using torch::nn::LinearOptions;
  gate_proj =
      register_module("gate_proj", torch::nn::Linear(LinearOptions(dim, hidden).bias(bias)));
  up_proj = register_module("up_proj", torch::nn::Linear(LinearOptions(dim, hidden).bias(bias)));
  down_proj =
      register_module("down_proj", torch::nn::Linear(LinearOptions(hidden, dim).bias(bias)));
}

torch::Tensor SwiGLUImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

}  // namespace elarin::nn
