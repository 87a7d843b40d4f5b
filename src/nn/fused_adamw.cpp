// FusedAdamW: the update written out per element, parallel over chunks of each tensor.
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/types.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/fused_adamw.hpp"

namespace elarin::nn {

FusedAdamW::FusedAdamW(std::vector<torch::Tensor> params, const AdamWOptions& options)
    : params_(std::move(params)), options_(options) {
  if (!(options.lr >= 0) || options.beta1 < 0 || options.beta1 >= 1 || options.beta2 < 0 ||
      options.beta2 >= 1 || options.eps <= 0 || options.weight_decay < 0)
    throw UsageError("FusedAdamW: need lr >= 0, betas in [0, 1), eps > 0, weight_decay >= 0");
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
    v_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
    steps_.push_back(0);
  }
}

void FusedAdamW::set_state(size_t i, int64_t step, const torch::Tensor& exp_avg,
                           const torch::Tensor& exp_avg_sq) {
  TORCH_CHECK(i < params_.size(), "FusedAdamW::set_state: parameter ", i, " of ", params_.size());
  TORCH_CHECK(exp_avg.sizes() == params_[i].sizes() && exp_avg_sq.sizes() == params_[i].sizes(),
              "FusedAdamW::set_state: moments ", exp_avg.sizes(), " / ", exp_avg_sq.sizes(),
              " for a parameter of shape ", params_[i].sizes());
  at::NoGradGuard no_grad;
  steps_[i] = step;
  m_[i].copy_(exp_avg);
  v_[i].copy_(exp_avg_sq);
}

void FusedAdamW::zero_grad() {
  for (auto& p : params_) p.mutable_grad().reset();
}

void FusedAdamW::step() {
  at::NoGradGuard no_grad;
  const auto& o = options_;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const auto& g_in = p.grad();
    if (!g_in.defined()) continue;
    const int64_t t = ++steps_[i];
    const double bc1 = 1 - std::pow(o.beta1, static_cast<double>(t));
    const double bc2 = 1 - std::pow(o.beta2, static_cast<double>(t));
    const double step_size = o.lr / bc1;
    const double decay = 1 - o.lr * o.weight_decay;
    const double inv_sqrt_bc2 = 1 / std::sqrt(bc2);
    if (p.scalar_type() == torch::kFloat && p.is_cpu() && p.is_contiguous() && !g_in.is_sparse()) {
      auto g = g_in.contiguous();
      // Distinct buffers: __restrict lets the compiler vectorise the loop (with
      // -fno-math-errno on this file, see CMakeLists.txt, so sqrt needs no errno path).
      float* __restrict pp = p.data_ptr<float>();
      const float* __restrict gp = g.data_ptr<float>();
      float* __restrict mp = m_[i].data_ptr<float>();
      float* __restrict vp = v_[i].data_ptr<float>();
      const float b1 = static_cast<float>(o.beta1), b2 = static_cast<float>(o.beta2);
      const float eps = static_cast<float>(o.eps), ss = static_cast<float>(step_size);
      const float dec = static_cast<float>(decay), isb = static_cast<float>(inv_sqrt_bc2);
      at::parallel_for(0, p.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          const float gk = gp[k];
          const float m = b1 * mp[k] + (1 - b1) * gk;
          const float v = b2 * vp[k] + (1 - b2) * gk * gk;
          mp[k] = m;
          vp[k] = v;
          pp[k] = pp[k] * dec - ss * m / (std::sqrt(v) * isb + eps);
        }
      });
    } else {
      p.mul_(decay);
      m_[i].mul_(o.beta1).add_(g_in, 1 - o.beta1);
      v_[i].mul_(o.beta2).addcmul_(g_in, g_in, 1 - o.beta2);
      p.addcdiv_(m_[i], v_[i].sqrt().mul_(inv_sqrt_bc2).add_(o.eps), -step_size);
    }
  }
}

}  // namespace elarin::nn
