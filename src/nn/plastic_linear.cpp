// PlasticLinear: dormant (sentinel) and live connections, eligibility traces (see header).
#include "elarin/nn/plastic_linear.hpp"

#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"

namespace elarin::nn {

PlasticLinearImpl::PlasticLinearImpl(const PlasticLinearOptions& options) : options_(options) {
  if (options.in_features <= 0 || options.out_features <= 0)
    throw UsageError("PlasticLinear: sizes " + std::to_string(options.in_features) + " -> " +
                     std::to_string(options.out_features) + ", expected positive");
  if (options.trace_decay < 0 || options.trace_decay >= 1)
    throw UsageError("PlasticLinear: trace_decay " + std::to_string(options.trace_decay) +
                     ", expected 0 <= decay < 1");
  weight = register_buffer("weight", torch::empty({options.out_features, options.in_features}));
  eligibility = register_buffer("eligibility", torch::zeros_like(weight));
  reset(options.init);
}

void PlasticLinearImpl::reset(const std::string& init) {
  torch::NoGradGuard no_grad;
  if (init == "sentinel") {
    weight.fill_(kSentinel);
  } else if (init == "kaiming") {
    // Kaiming-uniform as torch::nn::Linear: U(-1/sqrt(in), 1/sqrt(in)).
    const double bound = 1.0 / std::sqrt(double(options_.in_features));
    weight.uniform_(-bound, bound);
  } else {
    throw UsageError("PlasticLinear: init '" + init + "', expected sentinel or kaiming");
  }
  options_.init = init;
  eligibility.zero_();
}

torch::Tensor PlasticLinearImpl::dormant() const { return weight <= kSentinel / 2; }

torch::Tensor PlasticLinearImpl::live_weight() const { return weight.masked_fill(dormant(), 0.0f); }

int64_t PlasticLinearImpl::live_count() const {
  return weight.numel() - dormant().sum().item<int64_t>();
}

torch::Tensor PlasticLinearImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.size(-1) == options_.in_features, "PlasticLinear: input has ", x.size(-1),
              " features, expected ", options_.in_features);
  return torch::matmul(x, live_weight().t());  // (..., out)
}

void PlasticLinearImpl::update_trace(const torch::Tensor& pre, const torch::Tensor& post) {
  torch::NoGradGuard no_grad;
  auto p = pre.dim() == 1 ? pre.unsqueeze(0) : pre;     // (B, in)
  auto q = post.dim() == 1 ? post.unsqueeze(0) : post;  // (B, out)
  TORCH_CHECK(p.size(1) == options_.in_features && q.size(1) == options_.out_features &&
                  p.size(0) == q.size(0),
              "PlasticLinear::update_trace: pre ", pre.sizes(), ", post ", post.sizes(), " for ",
              options_.in_features, " -> ", options_.out_features);
  eligibility.mul_(options_.trace_decay).add_(torch::matmul(q.t(), p));  // (out, in)
}

void PlasticLinearImpl::clear_trace() { eligibility.zero_(); }

int64_t PlasticLinearImpl::apply_delta(const torch::Tensor& delta) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(delta.sizes() == weight.sizes(), "PlasticLinear::apply_delta: delta ", delta.sizes(),
              ", weight ", weight.sizes());
  const auto sleeping = dormant();
  const auto wakes = sleeping & (delta > options_.wake_threshold);
  const double lim = options_.weight_limit;
  auto live = (weight + delta).clamp(-lim, lim);
  // Live: w + delta; waking: delta (a small positive weight); still dormant: the sentinel.
  weight.copy_(torch::where(sleeping, torch::where(wakes, delta.clamp(-lim, lim), weight), live));
  return wakes.sum().item<int64_t>();
}

}  // namespace elarin::nn
