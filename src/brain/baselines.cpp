// Bandit baselines (see the header). Per-arm ridge regressions kept as inverse matrices
// updated by Sherman-Morrison, in float64.
#include "elarin/brain/baselines.hpp"

#include <torch/torch.h>

#include "elarin/brain/naming_task.hpp"

namespace elarin::brain {
namespace {

struct Ridge {
  torch::Tensor inv;  // (A, D, D) per arm (ridge I + sum x x^T)^-1
  torch::Tensor b;    // (A, D) per arm sum r x
  Ridge(int64_t arms, int64_t d, double ridge)
      : inv(torch::eye(d, torch::kDouble).expand({arms, d, d}).clone() / ridge),
        b(torch::zeros({arms, d}, torch::kDouble)) {}
  torch::Tensor means(const torch::Tensor& x) const {  // (A)
    return (torch::matmul(inv, x) * b).sum(1);         // theta_a . x = (A^-1 b) . x
  }
  torch::Tensor widths(const torch::Tensor& x) const {  // (A) sqrt(x^T A^-1 x)
    return (torch::matmul(inv, x) * x).sum(1).clamp_min(0).sqrt();
  }
  void update(int64_t arm, const torch::Tensor& x, double r) {
    auto a = inv[arm];
    auto ax = torch::mv(a, x);
    a -= torch::outer(ax, ax) / (1.0 + torch::dot(x, ax));
    b[arm] += r * x;
  }
};

BanditResult finish(std::vector<int> right) {
  BanditResult r;
  r.right = std::move(right);
  r.accuracy_last_500 = last_mean(r.right, 500);
  r.episodes_to_80 = first_reaching(r.right, 0.8, 200);
  return r;
}

}  // namespace

BanditResult run_linucb(const torch::Tensor& features, const torch::Tensor& labels, int64_t arms,
                        double alpha, double ridge) {
  auto f = features.to(torch::kDouble);
  Ridge m(arms, f.size(1), ridge);
  std::vector<int> right;
  for (int64_t t = 0; t < f.size(0); ++t) {
    auto x = f[t];
    const int64_t a = (m.means(x) + alpha * m.widths(x)).argmax().item<int64_t>();
    const bool ok = a == labels[t].item<int64_t>();
    m.update(a, x, ok ? 1.0 : 0.0);
    right.push_back(ok);
  }
  return finish(std::move(right));
}

BanditResult run_epsilon_greedy(const torch::Tensor& features, const torch::Tensor& labels,
                                int64_t arms, double epsilon, uint64_t seed, double ridge) {
  auto f = features.to(torch::kDouble);
  Ridge m(arms, f.size(1), ridge);
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<int> right;
  for (int64_t t = 0; t < f.size(0); ++t) {
    auto x = f[t];
    int64_t a = m.means(x).argmax().item<int64_t>();
    if (torch::rand({1}, gen).item<double>() < epsilon)
      a = torch::randint(arms, {1}, gen).item<int64_t>();
    const bool ok = a == labels[t].item<int64_t>();
    m.update(a, x, ok ? 1.0 : 0.0);
    right.push_back(ok);
  }
  return finish(std::move(right));
}

BanditResult run_supervised_readout(const torch::Tensor& features, const torch::Tensor& labels,
                                    int64_t arms, double ridge) {
  // One shared inverse (every arm sees every x), targets one-hot: multi-output ridge.
  auto f = features.to(torch::kDouble);
  const int64_t d = f.size(1);
  auto inv = torch::eye(d, torch::kDouble) / ridge;
  auto b = torch::zeros({d, arms}, torch::kDouble);
  std::vector<int> right;
  for (int64_t t = 0; t < f.size(0); ++t) {
    auto x = f[t];
    const int64_t y = labels[t].item<int64_t>();
    const int64_t a = torch::mv(torch::mm(inv, b).t(), x).argmax().item<int64_t>();
    right.push_back(a == y);
    auto ax = torch::mv(inv, x);
    inv -= torch::outer(ax, ax) / (1.0 + torch::dot(x, ax));
    b.select(1, y) += x;
  }
  return finish(std::move(right));
}

}  // namespace elarin::brain
