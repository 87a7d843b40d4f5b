// RMSNorm (see the header).
#include "elarin/nn/rms_norm.hpp"

#include <torch/torch.h>

namespace elarin::nn {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  TORCH_CHECK(dim > 0, "RMSNorm: dim must be > 0, got ", dim);
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto h = x.to(torch::kFloat);
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * h.to(x.scalar_type());
}

}  // namespace elarin::nn
