// RMSNorm (see the header). Float32 CPU tensors go through one fused autograd node (one
// pass forward, one backward), or the forward kernel alone without gradients; other dtypes
// and devices use the reference composition.
//   y = w * x * r,  r = 1 / sqrt(mean(x^2) + eps)
//   dx = r * (g * w) - x * r^3 * mean(g * w * x),  dw = sum over rows of g * x * r
#include "elarin/nn/rms_norm.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>

namespace elarin::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = w * x * r per row of contiguous float32 x (..., C); r = 1 / sqrt(mean(x^2) + eps) is
// written to *rstd (N) when given.
torch::Tensor rms_norm_rows(const torch::Tensor& x, const torch::Tensor& w, double eps,
                            torch::Tensor* rstd) {
  const int64_t C = x.size(-1), N = x.numel() / C;
  auto y = torch::empty_like(x);
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  float* rp = rstd ? rstd->data_ptr<float>() : nullptr;
  at::parallel_for(0, N, 32, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = xp + r * C;
      float ss = 0;
#pragma omp simd reduction(+ : ss)
      for (int64_t j = 0; j < C; ++j) ss += xr[j] * xr[j];
      const float rs = 1.0f / std::sqrt(ss / static_cast<float>(C) + static_cast<float>(eps));
      if (rp) rp[r] = rs;
      float* yr = yp + r * C;
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) yr[j] = wp[j] * (xr[j] * rs);
    }
  });
  return y;
}

class RMSNormFn : public torch::autograd::Function<RMSNormFn> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& w_in, double eps) {
    auto x = x_in.contiguous(), w = w_in.contiguous();
    auto rstd = torch::empty({x.numel() / x.size(-1)}, x.options());
    auto y = rms_norm_rows(x, w, eps, &rstd);
    ctx->save_for_backward({x, w, rstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &rstd = saved[2];
    auto g = grads[0].contiguous();
    const int64_t C = x.size(-1), N = x.numel() / C;
    auto dx = torch::empty_like(x);
    // One row of weight-gradient partial sums per thread, added up at the end.
    auto partial = torch::zeros({at::get_num_threads(), C}, x.options());
    const float* xp = x.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    const float* rp = rstd.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* dxp = dx.data_ptr<float>();
    float* pp = partial.data_ptr<float>();
    at::parallel_for(0, N, 32, [&](int64_t r0, int64_t r1) {
      float* pw = pp + at::get_thread_num() * C;
      for (int64_t r = r0; r < r1; ++r) {
        const float *xr = xp + r * C, *gr = gp + r * C;
        const float rs = rp[r];
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < C; ++j) dot += gr[j] * wp[j] * xr[j];
        const float coef = dot * rs * rs * rs / static_cast<float>(C);
        float* dr = dxp + r * C;
        for (int64_t j = 0; j < C; ++j) {
          dr[j] = rs * gr[j] * wp[j] - xr[j] * coef;
          pw[j] += gr[j] * xr[j] * rs;
        }
      }
    });
    return {dx, partial.sum(0).view_as(w), torch::Tensor()};
  }
};

}  // namespace

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  TORCH_CHECK(dim > 0, "RMSNorm: dim must be > 0, got ", dim);
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  if (x.is_cpu() && x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
      x.numel() > 0) {
    // Without gradients (decoding), the kernel alone: no autograd node to build.
    if (!torch::GradMode::is_enabled() || (!x.requires_grad() && !weight.requires_grad()))
      return rms_norm_rows(x.contiguous(), weight.contiguous(), eps_, nullptr);
    return RMSNormFn::apply(x, weight, eps_);
  }
  return reference(x);
}

torch::Tensor RMSNormImpl::reference(const torch::Tensor& x) {
  auto h = x.to(torch::kFloat);
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * h.to(x.scalar_type());
}

}  // namespace elarin::nn
