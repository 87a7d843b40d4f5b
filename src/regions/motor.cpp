// Motor: turns action values into an answer. The `candidates` names with the highest
// value + novelty bonus are the candidates; each is scored by its predicted valence: value +
// bonus + recall_weight x hippocampal recall - inhibition_weight x the ifg's inhibition
// (which arrives from the previous tick). The best candidate is emitted (temperature 0) or
// one is drawn from softmax(score / temperature) with the tick's seed. Outputs the emitted
// name as a one-hot vector and the basal ganglia's value for it (what the hypothalamus
// compares the reward with).
//
// With `expert_count` > 0 the motor also holds its own reward model (the seed's motor/insula
// allocation): a sparse Bio-MoE (nn/moe) that reads the fused state on `state` and predicts,
// per name, what the basal ganglia's value misses: the reward answering it brings minus the
// value they expected. It learns from reward alone, one SGD step on (prediction[answer] -
// (reward - expected))^2 per answered tick; only the routed experts (top_k of `expert_count`) run
// or change on a tick, so its size costs memory, not time. Its prediction is added to every
// name's value before the candidates are chosen, weighted by network_weight.
//
// The `consolidated` port (the dmn's value of each name, learned from hippocampal replay) is a
// second estimate of the same reward, so it is mixed in rather than added: value x (1 -
// consolidated_mix) + consolidated x consolidated_mix. Adding two estimates would double the
// value against the bonus and the recall. The mix is 0 by default (nothing connected).
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"
#include "regions/reward_model.hpp"

namespace elarin::regions {
namespace {

struct MotorSettings {
  int64_t candidates = 5;
  double recall_weight = 1.5;  // tuned: docs/BRAIN.md
  double recall_fade = 0.7;    // tuned: docs/BRAIN.md
  double inhibition_weight = 1.0;
  double correction_weight = 1.0;
  double aversion_weight = 1.0;
  int64_t expert_count = 0;
  int64_t expert_hidden = 256;
  int64_t top_k = 2;
  int64_t input = 512;
  double lr = 0.05;
  double network_weight = 1.0;
  double consolidated_mix = 0.0;
  template <class V>
  void visit(V& v) {
    v("candidates", candidates,
      "names the motor scores per tick: those with the highest value + bonus (at most the "
      "vocabulary's size)",
      at_least(1));
    v("recall_weight", recall_weight, "weight of hippocampal recall in a candidate's valence");
    v("recall_fade", recall_fade,
      "recall's weight x min(1, uncertainty / recall_fade): episodic recall counts where the "
      "basal ganglia are unsure (their `uncertainty` port); 0 = full weight always",
      in_range(0, 1));
    v("inhibition_weight", inhibition_weight, "weight of the ifg's inhibition");
    v("correction_weight", correction_weight, "weight of the cerebellum's correction");
    v("aversion_weight", aversion_weight, "weight of the insula's aversion");
    v("expert_count", expert_count,
      "routed experts of the motor's reward model (reads `state`); 0 = no network", at_least(0));
    v("expert_hidden", expert_hidden, "hidden units of each reward-model expert", at_least(1));
    v("top_k", top_k, "reward-model experts that run per tick (at most expert_count)", at_least(1));
    v("input", input, "size of the `state` port the reward model reads", at_least(1));
    v("lr", lr, "SGD learning rate of the reward model", greater_than(0));
    v("network_weight", network_weight, "weight of the reward model's prediction in a value");
    v("consolidated_mix", consolidated_mix,
      "share of the `consolidated` port (the dmn's value of each name) in a name's value: "
      "value x (1 - mix) + consolidated x mix; 0 = the basal ganglia's value alone",
      in_range(0, 1));
  }
};

class Motor : public brain::Region {
 public:
  Motor(const MotorSettings& s, const brain::BrainFacts& f)
      : Region("motor"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.motor");
    if (vocab_ < 1) throw UsageError("motor: brain.vocabulary is empty");
    if (s.candidates > vocab_)
      throw UsageError("region.motor.candidates: got " + std::to_string(s.candidates) +
                       ", expected <= " + std::to_string(vocab_) + " (brain.vocabulary's size)");
    if (s.expert_count > 0 && s.top_k > s.expert_count)
      throw UsageError("region.motor.top_k: got " + std::to_string(s.top_k) + ", expected <= " +
                       std::to_string(s.expert_count) + " (region.motor.expert_count)");
    initialise(f.seed);
  }
  std::vector<brain::PortSpec> inputs() const override {
    std::vector<brain::PortSpec> ports = {{"value", vocab_},      {"bonus", vocab_},
                                          {"recall", vocab_},     {"uncertainty", vocab_},
                                          {"inhibition", vocab_}, {"correction", vocab_},
                                          {"aversion", vocab_},   {"consolidated", vocab_}};
    if (net_) ports.push_back({"state", s_.input});
    return ports;
  }
  std::vector<brain::PortSpec> outputs() const override {
    return {{"emitted", vocab_}, {"expected", 1}, {"score", 1}};
  }

  brain::Ports tick(const brain::TickContext& ctx, const brain::Ports& in) override {
    const auto& value = in.at("value");
    auto ucb = value + in.at("bonus");
    if (s_.consolidated_mix > 0) ucb = ucb + s_.consolidated_mix * (in.at("consolidated") - value);
    if (net_) {
      x_ = in.at("state").unsqueeze(0).clone();  // (1, input), for learn
      ucb = ucb + s_.network_weight * net_->predict(x_)[0];
    }
    auto cand = std::get<1>(ucb.topk(s_.candidates));     // (m) ids, best first; ties: lower id
    auto recall = in.at("recall").index_select(0, cand);  // (m)
    if (s_.recall_fade > 0)  // uncertainty-based arbitration between memory and habit
      recall = recall * (in.at("uncertainty").index_select(0, cand) / s_.recall_fade).clamp_max(1);
    auto score = ucb.index_select(0, cand) + s_.recall_weight * recall -
                 s_.inhibition_weight * in.at("inhibition").index_select(0, cand) +
                 s_.correction_weight * in.at("correction").index_select(0, cand) -
                 s_.aversion_weight * in.at("aversion").index_select(0, cand);  // (m)
    int64_t pick = 0;
    if (ctx.temperature > 0) {
      auto gen = at::detail::createCPUGenerator(ctx.seed);
      pick = torch::multinomial(torch::softmax(score / ctx.temperature, 0), 1, false, gen)
                 .item<int64_t>();
    } else {
      pick = score.argmax().item<int64_t>();
    }
    const int64_t id = cand[pick].item<int64_t>();
    auto emitted = torch::zeros({vocab_});
    emitted[id] = 1.0f;
    return {{"emitted", emitted},
            {"expected", value.narrow(0, id, 1).clone()},
            {"score", score.narrow(0, pick, 1).clone()}};
  }

  // One SGD step of the reward model on the answer given: only the routed experts and the
  // gate have gradients, so only they change.
  void learn(const brain::Neuromodulators& m) override {
    if (!net_ || !x_.defined() || m.action < 0 || m.action >= vocab_ || m.reward == 0) return;
    // The basal ganglia's error on this answer: the model learns what their linear value
    // misses, so the two add up to one estimate of the reward.
    auto target = torch::zeros({1, vocab_}), mask = torch::zeros({1, vocab_});
    target[0][m.action] = float(m.reward - m.expected);
    mask[0][m.action] = 1.0f;
    net_->learn(x_, target, mask, s_.lr);
    x_ = torch::Tensor();
  }

  brain::RegionState state() const override {
    brain::RegionState st;
    if (net_) net_->add_state(st, "net");
    return st;
  }
  void load_state(const brain::RegionState& st) override {
    if (net_) net_->load_state(st, "net");
  }
  void initialise(uint64_t seed) override {
    if (s_.expert_count == 0) return;
    net_ = std::make_unique<RewardModel>(
        RewardModelShape{s_.input, vocab_, s_.expert_count, s_.expert_hidden, s_.top_k}, seed);
  }

 private:
  MotorSettings s_;
  int64_t vocab_;
  std::unique_ptr<RewardModel> net_;  // the reward model, when expert_count > 0
  torch::Tensor x_;                   // (1, input) this tick's state, for learn
};

}  // namespace

brain::RegionKind motor_kind() {
  return brain::make_region_kind<Motor, MotorSettings>(
      "motor", "answer: the best of region.motor.candidates names by predicted valence");
}

}  // namespace elarin::regions
