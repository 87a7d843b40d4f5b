// Basal ganglia: action selection. One channel per vocabulary name; a channel's value is
// (Go - NoGo) . state. Both pathways are PlasticLinear layers whose connections start
// dormant (sentinels) and learn by the three-factor rule: dopamine (reward-prediction
// error) x an eligibility that tags the channel that acted (efference copy) with the state,
// preconditioned by the inverse covariance of the states that channel has acted on (the
// recursive-least-squares form of the delta rule: each channel's value converges to the
// ridge regression of its rewards). Positive changes strengthen Go, negative ones NoGo.
// The novelty bonus alpha * sqrt(x^T P x) favours channels that seldom acted in this part
// of state space. Outputs each channel's value, bonus, uncertainty (the share of the prior
// std sqrt(x^T x / ridge) that sqrt(x^T P x) still holds: 1 = never acted near here), and a
// 32-d command (the channels' motor codes mixed by a softmax of value + bonus).
#include <torch/torch.h>

#include <cmath>

#include "elarin/brain/learning_rules.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/nn/plastic_linear.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct BasalGangliaSettings {
  int64_t input = 128;
  int64_t command = 32;
  double bonus = 0.5;
  double ridge = 0.3;  // tuned: docs/BENCHMARKS.md
  std::string init = "sentinel";
  std::string rule = "three_factor";
  template <class V>
  void visit(V& v) {
    v("input", input, "size of the state it reads (the thalamus's focus)", at_least(1));
    v("command", command, "size of the motor command", at_least(1));
    v("bonus", bonus, "novelty bonus scale alpha: alpha * sqrt(x^T P x)", at_least(0));
    v("ridge", ridge,
      "prior precision of each channel's value regression: P starts as "
      "I / ridge",
      greater_than(0));
    v("init", init,
      "sentinel: connections start dormant; kaiming: live random weights (the "
      "ablation)",
      one_of({"sentinel", "kaiming"}));
    v("rule", rule, "learning rule of the Go and NoGo pathways (brain/learning_rules.hpp)");
  }
};

class BasalGanglia : public brain::Region {
 public:
  BasalGanglia(const BasalGangliaSettings& s, const brain::BrainFacts& f)
      : Region("basal_ganglia"),
        s_(s),
        vocab_(static_cast<int64_t>(f.vocabulary.size())),
        go_(options(checked(s, "region.basal_ganglia"), vocab_)),
        nogo_(options(s, vocab_)) {
    brain::learning_rule(s.rule);  // an unknown rule fails here, listing the valid ones
    initialise(f.seed);
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"state", s_.input}}; }
  std::vector<brain::PortSpec> outputs() const override {
    return {{"value", vocab_}, {"bonus", vocab_}, {"uncertainty", vocab_}, {"command", s_.command}};
  }

  brain::Ports tick(const brain::TickContext& ctx, const brain::Ports& in) override {
    x_ = in.at("state").clone();                     // (D)
    auto value = go_(x_) - nogo_(x_);                // (V)
    auto px = torch::matmul(precision_, x_);         // (V, D)
    auto sd = (px * x_).sum(1).clamp_min(0).sqrt();  // (V) posterior std
    auto bonus = sd * s_.bonus;                      // (V)
    // The share of the prior's std left, 1 = never acted near here; 0 = certain.
    const double prior = std::sqrt(x_.dot(x_).item<double>() / s_.ridge);
    auto uncertainty = prior > 0 ? (sd / prior).clamp(0, 1) : torch::ones({vocab_});  // (V)
    const double t = ctx.temperature > 0 ? ctx.temperature : 0.05;
    auto command = torch::matmul(torch::softmax((value + bonus) / t, 0), codes_);  // (C)
    return {{"value", value}, {"bonus", bonus}, {"uncertainty", uncertainty}, {"command", command}};
  }

  void learn(const brain::Neuromodulators& m) override {
    if (!x_.defined() || m.action < 0 || m.action >= vocab_) return;
    const int64_t a = m.action;
    auto p = precision_[a];                       // (D, D)
    auto px = torch::mv(p, x_);                   // (D)
    auto gain = px / (1.0 + torch::dot(x_, px));  // (D) the RLS gain
    if (m.dopamine != 0) {
      // Eligibility: the acting channel's row holds the preconditioned state; the rest 0.
      go_->eligibility.zero_();
      go_->eligibility[a].copy_(gain);
      auto delta =
          brain::learning_rule(s_.rule).delta(*go_, {x_, torch::Tensor(), m.dopamine, 1.0});
      go_->apply_delta(delta.clamp_min(0));
      nogo_->apply_delta((-delta).clamp_min(0));
    }
    p -= torch::outer(gain, px);  // Sherman-Morrison: the channel has seen this state
    x_ = torch::Tensor();
  }

  std::map<std::string, double> learning() const override {
    return {{"go_live_connections", double(go_->live_count())},
            {"nogo_live_connections", double(nogo_->live_count())}};
  }
  brain::RegionState state() const override {
    return {{"go.weight", go_->weight.clone()},
            {"nogo.weight", nogo_->weight.clone()},
            {"precision", precision_.clone()},
            {"codes", codes_.clone()}};
  }

  void load_state(const brain::RegionState& st) override {
    const std::vector<int64_t> w = {vocab_, s_.input};
    const auto& go = brain::state_tensor(st, "go.weight", w, torch::kFloat);
    const auto& nogo = brain::state_tensor(st, "nogo.weight", w, torch::kFloat);
    const auto& p =
        brain::state_tensor(st, "precision", {vocab_, s_.input, s_.input}, torch::kFloat);
    const auto& codes = brain::state_tensor(st, "codes", {vocab_, s_.command}, torch::kFloat);
    go_->weight.copy_(go);
    nogo_->weight.copy_(nogo);
    precision_ = p.clone();
    codes_ = codes.clone();
  }

  void initialise(uint64_t seed) override {
    torch::manual_seed(seed);
    go_->reset(s_.init);
    nogo_->reset(s_.init);
    precision_ = torch::eye(s_.input).expand({vocab_, s_.input, s_.input}).clone() / s_.ridge;
    // Each channel's motor code: a fixed random unit vector.
    codes_ = torch::randn({vocab_, s_.command});
    codes_ /= codes_.norm(2, 1, true);
  }

 private:
  static nn::PlasticLinearOptions options(const BasalGangliaSettings& s, int64_t vocab) {
    nn::PlasticLinearOptions o(s.input, std::max<int64_t>(vocab, 1));
    o.init = s.init;
    o.weight_limit = 1e6;  // the regression's weights are not bounded a priori
    return o;
  }

  BasalGangliaSettings s_;
  int64_t vocab_;
  nn::PlasticLinear go_, nogo_;  // (V, D) each
  torch::Tensor precision_;      // (V, D, D) inverse covariance per channel
  torch::Tensor codes_;          // (V, C)
  torch::Tensor x_;              // this tick's state, for learn
};

}  // namespace

brain::RegionKind basal_ganglia_kind() {
  return brain::make_region_kind<BasalGanglia, BasalGangliaSettings>(
      "basal_ganglia",
      "action selection: Go/NoGo channels per name, three-factor learning, novelty bonus");
}

}  // namespace elarin::regions
