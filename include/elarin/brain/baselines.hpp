// Contextual-bandit baselines for the naming task, run on the same features the brain's
// basal ganglia reads (recorded per episode) and the same stimulus order: LinUCB (disjoint
// arms, ridge regression per name, optimism alpha * sqrt(x^T A^-1 x)), epsilon-greedy on
// the same per-arm ridge, and a supervised linear readout told the true label every episode
// (full information: an upper bound, not a bandit). Rewards are 1 (right) or 0.
//
//   torch::Tensor features = torch::randn({2000, 16});  // per episode: what the basal ganglia read
//   torch::Tensor labels = torch::randint(10, {2000});   // per episode: the right name
//   elarin::brain::BanditResult r = elarin::brain::run_linucb(features, labels, /*arms=*/10,
//                                                             /*alpha=*/1.0);
//   int64_t to_80 = r.episodes_to_80;  // first episode whose last 200 are >= 80% right; -1 never
//   double last = r.accuracy_last_500;
#pragma once

#include <torch/types.h>

#include <vector>

namespace elarin::brain {

struct BanditResult {
  std::vector<int> right;  // per episode
  double accuracy_last_500 = 0;
  int64_t episodes_to_80 = -1;
};

// features (T, D) float, labels (T) int64 in [0, arms).
BanditResult run_linucb(const torch::Tensor& features, const torch::Tensor& labels, int64_t arms,
                        double alpha, double ridge = 1.0);
BanditResult run_epsilon_greedy(const torch::Tensor& features, const torch::Tensor& labels,
                                int64_t arms, double epsilon, uint64_t seed, double ridge = 1.0);
BanditResult run_supervised_readout(const torch::Tensor& features, const torch::Tensor& labels,
                                    int64_t arms, double ridge = 1.0);

}  // namespace elarin::brain
