// MeritBoard: momentum merit, UCB1 and Exp3 (log-domain weights, so long runs do not overflow).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/merit_board.hpp"

namespace elarin::nn {

void MeritConfig::validate() const { check_constraints(*this, "moe.merit"); }

namespace {
int64_t checked_arms(int64_t arms) {
  if (arms < 1) throw UsageError("MeritBoard: arms must be >= 1, got " + std::to_string(arms));
  return arms;
}
}  // namespace

MeritBoard::MeritBoard(int64_t arms, const MeritConfig& config, uint64_t seed)
    : config_(config),
      merit_(checked_arms(arms), 0.0),
      mean_(arms, 0.0),
      log_weight_(arms, 0.0),
      pulls_(arms, 0),
      rng_(seed) {
  config_.validate();
  if (arms < 1) throw UsageError("MeritBoard: arms must be >= 1, got " + std::to_string(arms));
}

std::vector<double> MeritBoard::exp3_probs() const {
  const double K = static_cast<double>(arms());
  const double top = *std::max_element(log_weight_.begin(), log_weight_.end());
  double total = 0;
  std::vector<double> p(arms());
  for (int64_t i = 0; i < arms(); ++i) total += p[i] = std::exp(log_weight_[i] - top);
  for (auto& v : p) v = (1 - config_.exp3_gamma) * v / total + config_.exp3_gamma / K;
  return p;
}

std::vector<double> MeritBoard::scores() const {
  if (config_.bandit == "exp3") return exp3_probs();
  if (config_.bandit != "ucb") return merit_;
  std::vector<double> s(arms());
  const double lt = std::log(static_cast<double>(std::max<int64_t>(t_, 1)));
  for (int64_t i = 0; i < arms(); ++i)
    s[i] = pulls_[i] == 0 ? std::numeric_limits<double>::infinity()
                          : mean_[i] + config_.ucb_c * std::sqrt(2.0 * lt / pulls_[i]);
  return s;
}

int64_t MeritBoard::select() {
  if (config_.bandit == "exp3") {
    auto p = exp3_probs();
    std::discrete_distribution<int64_t> pick(p.begin(), p.end());
    return pick(rng_);
  }
  if (config_.bandit == "ucb") {
    auto s = scores();
    return std::max_element(s.begin(), s.end()) - s.begin();
  }
  return std::uniform_int_distribution<int64_t>(0, arms() - 1)(rng_);
}

void MeritBoard::update(int64_t arm, double reward) {
  if (arm < 0 || arm >= arms())
    throw UsageError("MeritBoard: arm " + std::to_string(arm) + " out of 0 .. " +
                     std::to_string(arms() - 1));
  reward = std::clamp(reward, 0.0, 1.0);
  ++t_;
  ++pulls_[arm];
  mean_[arm] += (reward - mean_[arm]) / static_cast<double>(pulls_[arm]);
  merit_[arm] = config_.momentum * merit_[arm] + (1 - config_.momentum) * reward;
  if (config_.bandit == "exp3") {
    // Importance-weighted reward estimate r / p(arm); weight *= exp(gamma * r_hat / K).
    const double p = exp3_probs()[arm];
    log_weight_[arm] += config_.exp3_gamma * (reward / p) / static_cast<double>(arms());
  }
}

torch::Tensor MeritBoard::routing_bias(const torch::Tensor& available) const {
  auto bias = torch::zeros({arms()});
  if (config_.bandit == "none" &&
      std::all_of(merit_.begin(), merit_.end(), [](double m) { return m == 0; }))
    return bias;
  auto s = scores();
  auto avail = available.cpu();
  double finite_max = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < arms(); ++i) {
    if (!avail[i].item<bool>() || std::isinf(s[i])) continue;
    finite_max = n == 0 ? s[i] : std::max(finite_max, s[i]);
    ++n;
  }
  for (auto& v : s)
    if (std::isinf(v)) v = n > 0 ? finite_max + 1.0 : 1.0;
  double mean = 0;
  int64_t m = 0;
  for (int64_t i = 0; i < arms(); ++i)
    if (avail[i].item<bool>()) mean += s[i], ++m;
  mean = m > 0 ? mean / m : 0;
  if (config_.bandit == "exp3") {
    // Probabilities compare on a log scale: bias = scale * (log p - mean log p).
    double lm = 0;
    for (int64_t i = 0; i < arms(); ++i)
      if (avail[i].item<bool>()) lm += std::log(s[i]);
    lm = m > 0 ? lm / m : 0;
    for (int64_t i = 0; i < arms(); ++i)
      if (avail[i].item<bool>()) bias[i] = config_.bias_scale * (std::log(s[i]) - lm);
    return bias;
  }
  for (int64_t i = 0; i < arms(); ++i)
    if (avail[i].item<bool>()) bias[i] = config_.bias_scale * (s[i] - mean);
  return bias;
}

}  // namespace elarin::nn
