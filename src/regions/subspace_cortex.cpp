// The sensory cortex shared by occipital and auditory (see the header).
#include "regions/subspace_cortex.hpp"

#include <torch/torch.h>

#include "elarin/brain/learning_rules.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::regions {
namespace {

nn::PlasticLinearOptions map_options(const SubspaceSettings& s) {
  nn::PlasticLinearOptions o(s.input, s.features);
  o.init = "kaiming";
  return o;
}

}  // namespace

SubspaceCortex::SubspaceCortex(std::string name, const SubspaceSettings& s)
    : Region(std::move(name)), s_(checked(s, "region." + this->name())), map_(map_options(s)) {
  if (s.features > s.input)
    throw UsageError("region." + this->name() + ".features: got " + std::to_string(s.features) +
                     ", expected <= " + std::to_string(s.input) + " (region." + this->name() +
                     ".input)");
  initialise(1);
}

brain::Ports SubspaceCortex::tick(const brain::TickContext&, const brain::Ports& in) {
  const auto& x = in.at("input");
  if (x.abs().max().item<float>() == 0) return {{"features", torch::zeros({s_.features})}};
  auto xc = (x - mean_) / scale_;  // (D) centred, variance-scaled
  auto y = map_(xc);               // (F)
  if (s_.online_lr > 0) brain::apply_learning_rule("oja", *map_, {xc, y, 0.0, s_.online_lr});
  return {{"features", y / y.norm().clamp_min(1e-12)}};
}

void SubspaceCortex::develop(const torch::Tensor& samples, uint64_t seed) {
  TORCH_CHECK(samples.dim() == 2 && samples.size(1) == s_.input, name(), ".develop: expected (N, ",
              s_.input, ")");
  const int64_t n = samples.size(0);
  if (n < 2) return;
  mean_ = samples.mean(0);
  auto xc = samples - mean_;
  // One scale for all dimensions: the mean per-dimension variance becomes 1.
  scale_ = xc.pow(2).mean().sqrt().clamp_min(1e-12);
  xc = xc / scale_;
  // Oja's rule grows along each principal axis at a rate lr * eigenvalue and overshoots once
  // that nears 1. Scaling makes the mean eigenvalue 1, but one axis can carry far more: two
  // kinds of image (digits and clothes) put ~30% of all variance on the axis between them.
  // So the rate is capped at 0.5 / the largest eigenvalue.
  const double top =
      torch::linalg::eigvalsh(torch::mm(xc.t(), xc) / double(n), "L").max().item<double>();
  const double base_lr = std::min(s_.lr, 0.5 / std::max(top, 1e-12));
  if (base_lr < s_.lr)
    log_info("{}: largest eigenvalue {:.1f}: Oja rate {} capped at {:.2e}", name(), top, s_.lr,
             base_lr);
  auto gen = at::detail::createCPUGenerator(seed);
  for (int64_t epoch = 0; epoch < s_.epochs; ++epoch) {
    auto order = torch::randperm(n, gen);
    const double lr =
        base_lr * (1.0 - 0.9 * double(epoch) / double(std::max<int64_t>(1, s_.epochs)));
    for (int64_t i = 0; i + s_.batch <= n; i += s_.batch) {
      auto x = xc.index_select(0, order.narrow(0, i, s_.batch));
      brain::apply_learning_rule("oja", *map_, {x, map_(x), 0.0, lr});
    }
  }
  log_info("{}: Oja development over {} embeddings, {} epochs: keeps {:.1f}% of the variance",
           name(), n, s_.epochs, 100.0 * kept_variance(xc));
}

double SubspaceCortex::kept_variance(const torch::Tensor& xc) const {
  auto q = std::get<0>(torch::linalg::qr(map_->live_weight().t()));  // (D, F) orthonormal
  return (torch::mm(xc, q).pow(2).sum() / xc.pow(2).sum()).item<double>();
}

brain::RegionState SubspaceCortex::state() const {
  return {{"map.weight", map_->weight.clone()},
          {"mean", mean_.clone()},
          {"scale", scale_.view({1}).clone()}};
}

void SubspaceCortex::load_state(const brain::RegionState& st) {
  const auto& w = brain::state_tensor(st, "map.weight", {s_.features, s_.input}, torch::kFloat);
  const auto& m = brain::state_tensor(st, "mean", {s_.input}, torch::kFloat);
  const auto& sc = brain::state_tensor(st, "scale", {1}, torch::kFloat);
  if (!(sc.item<float>() > 0)) throw FormatError("state tensor 'scale' must be > 0");
  map_->weight.copy_(w);
  mean_ = m.clone();
  scale_ = sc.reshape({1}).squeeze().clone();  // 0-dim (view({}) would pick the dtype overload)
}

void SubspaceCortex::initialise(uint64_t seed) {
  torch::manual_seed(seed);
  map_->reset("kaiming");
  mean_ = torch::zeros({s_.input});
  scale_ = torch::ones({});
}

}  // namespace elarin::regions
