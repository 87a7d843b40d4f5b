// MeritBoard: a running merit per expert (reward with momentum) and a bandit policy over the
// experts -- UCB1 (Auer et al. 2002) or Exp3 (Auer et al. 2002, adversarial) -- whose scores
// become an additive routing bias on the gate's logits. Leaves out contextual bandits.
//
//   #include "elarin/nn/moe/moe_core.hpp"
//   elarin::nn::MeritConfig merit;
//   merit.bandit = "ucb";
//   elarin::nn::MeritBoard board(/*arms=*/8, merit, /*seed=*/1);
//   int64_t arm = board.select();         // UCB1 argmax / Exp3 sample
//   board.update(arm, /*reward=*/0.75);   // reward in [0, 1]
//   elarin::nn::MoEConfig cfg;            // 8 experts, d_model 256
//   elarin::nn::MoECore core(cfg);
//   elarin::nn::GateControl control;
//   control.bias = board.routing_bias(core->available_mask());  // (E) added to the gate's logits
//   auto out = core->forward(torch::randn({4, 256}), {}, control);
#pragma once

#include <torch/types.h>

#include <random>
#include <string>
#include <vector>

#include "elarin/core/config.hpp"

namespace elarin::nn {

struct MeritConfig {
  std::string bandit = "none";
  double momentum = 0.9;
  double ucb_c = 1.0;
  double exp3_gamma = 0.1;
  double bias_scale = 0.5;
  template <class V>
  void visit(V& v) {
    v("bandit", bandit, "routing bandit", one_of({"ucb", "exp3", "none"}));
    v("momentum", momentum,
      "merit := momentum * merit + (1 - momentum) * reward (0 = last reward only)",
      in_range(0, 1).open_high());
    v("ucb_c", ucb_c, "UCB1 exploration: mean + c * sqrt(2 ln t / n)", at_least(0));
    v("exp3_gamma", exp3_gamma, "Exp3 exploration share", in_range(0, 1).open_low());
    v("bias_scale", bias_scale, "routing bias = scale * (score - mean score) on gate logits");
  }
  void validate() const;  // UsageError naming the key
};

class MeritBoard {
 public:
  MeritBoard(int64_t arms, const MeritConfig& config, uint64_t seed = 0);

  int64_t select();                         // next arm to try (UCB1 / Exp3; uniform for none)
  void update(int64_t arm, double reward);  // reward in [0, 1]
  void set_momentum(double m) { config_.momentum = m; }

  // Per-arm score: UCB1 index (unplayed arms: +inf), Exp3 probability, or merit.
  std::vector<double> scores() const;
  // (arms,) float: bias_scale * (score - mean) over `available` (bool mask), 0 elsewhere.
  // Unplayed UCB arms get the largest finite bias so they are tried.
  torch::Tensor routing_bias(const torch::Tensor& available) const;

  const std::vector<double>& merit() const { return merit_; }
  const std::vector<int64_t>& pulls() const { return pulls_; }
  const std::vector<double>& mean_reward() const { return mean_; }
  int64_t arms() const { return static_cast<int64_t>(merit_.size()); }

 private:
  std::vector<double> exp3_probs() const;
  MeritConfig config_;
  std::vector<double> merit_, mean_, log_weight_;
  std::vector<int64_t> pulls_;
  int64_t t_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace elarin::nn
