// RoutingStats: per-batch reductions happen on tensors; only (E,) vectors reach the CPU.
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "elarin/nn/moe/moe_core.hpp"
#include "elarin/nn/moe/routing_stats.hpp"

namespace elarin::nn {

RoutingStats::RoutingStats(int64_t experts)
    : experts_(experts), routed_(experts, 0.0), correct_(experts, 0.0) {}

void RoutingStats::add(const MoEOutput& out, const torch::Tensor& routed_correct) {
  torch::NoGradGuard no_grad;
  auto idx = out.topk_index.flatten().cpu();
  auto counts = torch::bincount(idx, {}, experts_).to(torch::kDouble);
  auto c = counts.accessor<double, 1>();
  for (int64_t e = 0; e < experts_; ++e) routed_[e] += c[e];
  if (routed_correct.defined()) {
    auto hits = torch::bincount(idx, routed_correct.flatten().cpu().to(torch::kDouble), experts_);
    auto h = hits.accessor<double, 1>();
    for (int64_t e = 0; e < experts_; ++e) correct_[e] += h[e];
  }
  auto p = out.probs.detach();
  entropy_sum_ += -(p * torch::log(p.clamp_min(1e-12))).sum().item<double>();
  if (out.thalamic.defined()) thalamic_sum_ += out.thalamic.detach().abs().mean(1).sum().item<double>();
  rows_ += out.probs.size(0);
}

std::vector<double> RoutingStats::utilization() const {
  double total = 0;
  for (double r : routed_) total += r;
  std::vector<double> u(experts_, 0.0);
  if (total > 0)
    for (int64_t e = 0; e < experts_; ++e) u[e] = routed_[e] / total;
  return u;
}

std::vector<double> RoutingStats::routed_accuracy() const {
  std::vector<double> a(experts_, std::numeric_limits<double>::quiet_NaN());
  for (int64_t e = 0; e < experts_; ++e)
    if (routed_[e] > 0) a[e] = correct_[e] / routed_[e];
  return a;
}

double RoutingStats::gate_entropy() const { return rows_ > 0 ? entropy_sum_ / rows_ : 0.0; }

double RoutingStats::gate_entropy_norm(int64_t available) const {
  return available > 1 ? gate_entropy() / std::log(static_cast<double>(available)) : 0.0;
}

double RoutingStats::thalamic_magnitude() const { return rows_ > 0 ? thalamic_sum_ / rows_ : 0.0; }

double RoutingStats::load_ratio(const std::vector<int64_t>& available) const {
  if (available.empty()) return 0;
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (auto e : available) {
    lo = std::min(lo, routed_[e]);
    hi = std::max(hi, routed_[e]);
  }
  return lo > 0 ? hi / lo : std::numeric_limits<double>::infinity();
}

std::string RoutingStats::line(const std::vector<int64_t>& available) const {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  auto u = utilization();
  auto acc = routed_accuracy();
  s << "experts " << available.size() << " util [";
  for (size_t i = 0; i < available.size(); ++i) s << (i ? " " : "") << u[available[i]];
  s << "] routed_acc [";
  for (size_t i = 0; i < available.size(); ++i) {
    const double a = acc[available[i]];
    s << (i ? " " : "");
    if (std::isnan(a)) s << "-"; else s << a;
  }
  s << "] entropy " << gate_entropy_norm(static_cast<int64_t>(available.size())) << " load "
    << load_ratio(available) << " thalamic " << thalamic_magnitude();
  return s.str();
}

std::vector<std::pair<std::string, double>> RoutingStats::values(
    const std::string& prefix, const std::vector<int64_t>& available) const {
  std::vector<std::pair<std::string, double>> v = {
      {prefix + "gate_entropy", gate_entropy()},
      {prefix + "gate_entropy_norm", gate_entropy_norm(static_cast<int64_t>(available.size()))},
      {prefix + "load_ratio", load_ratio(available)},
      {prefix + "thalamic", thalamic_magnitude()},
      {prefix + "experts_available", static_cast<double>(available.size())}};
  auto u = utilization();
  auto acc = routed_accuracy();
  for (int64_t e = 0; e < experts_; ++e) {
    v.push_back({prefix + "util/" + std::to_string(e), u[e]});
    v.push_back({prefix + "routed_acc/" + std::to_string(e), acc[e]});
  }
  return v;
}

}  // namespace elarin::nn
