// Motor: turns action values into an answer. The `motor_candidates` names with the highest
// value + novelty bonus are the candidates; each is scored by its predicted valence: value +
// bonus + recall_weight x hippocampal recall - inhibition_weight x the ifg's inhibition
// (which arrives from the previous tick). The best candidate is emitted (temperature 0) or
// one is drawn from softmax(score / temperature) with the tick's seed. Outputs the emitted
// name as a one-hot vector and the basal ganglia's value for it (what the hypothalamus
// compares the reward with).
//
// With `experts` > 0 the motor also holds its own reward model (the seed's motor/insula
// allocation): a sparse Bio-MoE (nn/moe) that reads the fused state on `state` and predicts,
// per name, what the basal ganglia's value misses: the reward answering it brings minus the
// value they expected. It learns from reward alone, one SGD step on (prediction[answer] -
// (reward - expected))^2 per answered tick; only the routed experts (top_k of `experts`) run
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
  double recall_weight =
      1.5;  // weight of the hippocampus's recall in a candidate's score (tuned: docs/BRAIN.md)
  double recall_fade = 0.7;  // uncertainty below which recall fades linearly; 0 = never (tuned)
  double inhibition_weight = 1.0;  // weight of the ifg's inhibition
  double correction_weight = 1.0;  // weight of the cerebellum's correction
  double aversion_weight = 1.0;    // weight of the insula's aversion
  int64_t experts = 0;             // routed experts of the reward model; 0 = no network
  int64_t expert_hidden = 256;     // hidden units of each expert (an MLP input -> hidden -> names)
  int64_t top_k = 2;               // experts that run per tick
  int64_t input = 512;             // size of `state` (the thalamus's fused vector)
  double lr = 0.05;                // SGD step of the reward model
  double network_weight = 1.0;     // weight of the reward model's prediction in a name's value
  double consolidated_mix = 0.0;   // share of the dmn's value (`consolidated`) in a name's value
  template <class V>
  void visit(V& v) {
    v("recall_weight", recall_weight, "weight of hippocampal recall in a candidate's valence");
    v("recall_fade", recall_fade,
      "recall's weight x min(1, uncertainty / recall_fade): episodic recall counts where the "
      "basal ganglia are unsure (their `uncertainty` port); 0 = full weight always");
    v("inhibition_weight", inhibition_weight, "weight of the ifg's inhibition");
    v("correction_weight", correction_weight, "weight of the cerebellum's correction");
    v("aversion_weight", aversion_weight, "weight of the insula's aversion");
    v("experts", experts,
      "routed experts of the motor's reward model (reads `state`); 0 = no network");
    v("expert_hidden", expert_hidden, "hidden units of each reward-model expert");
    v("top_k", top_k, "reward-model experts that run per tick");
    v("input", input, "size of the `state` port the reward model reads");
    v("lr", lr, "SGD learning rate of the reward model");
    v("network_weight", network_weight, "weight of the reward model's prediction in a value");
    v("consolidated_mix", consolidated_mix,
      "share of the `consolidated` port (the dmn's value of each name) in a name's value: "
      "value x (1 - mix) + consolidated x mix; 0 = the basal ganglia's value alone");
  }
};

class Motor : public brain::Region {
 public:
  Motor(const MotorSettings& s, const brain::BrainFacts& f)
      : Region("motor"),
        s_(s),
        vocab_(static_cast<int64_t>(f.vocabulary.size())),
        candidates_(
            std::min<int64_t>(f.motor_candidates, static_cast<int64_t>(f.vocabulary.size()))) {
    if (vocab_ < 1) throw UsageError("motor: brain.vocabulary is empty");
    if (s.consolidated_mix < 0 || s.consolidated_mix > 1)
      throw UsageError("region.motor.consolidated_mix: " + std::to_string(s.consolidated_mix) +
                       ", expected 0 to 1");
    if (s.recall_fade < 0 || s.recall_fade > 1)
      throw UsageError("region.motor.recall_fade: " + std::to_string(s.recall_fade) +
                       ", expected 0 (off) to 1");
    if (s.experts < 0)
      throw UsageError("region.motor.experts: " + std::to_string(s.experts) +
                       ", expected >= 0 (0 = no reward model)");
    if (s.experts > 0) {
      if (s.top_k < 1 || s.top_k > s.experts)
        throw UsageError("region.motor.top_k: " + std::to_string(s.top_k) + ", expected 1 to " +
                         std::to_string(s.experts) + " (region.motor.experts)");
      if (s.expert_hidden < 1 || s.input < 1)
        throw UsageError("region.motor.expert_hidden and region.motor.input: expected >= 1");
      if (s.lr <= 0) throw UsageError("region.motor.lr: expected > 0");
    }
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
    auto cand = std::get<1>(ucb.topk(candidates_));       // (m) ids, best first; ties: lower id
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
    if (s_.experts == 0) return;
    net_ = std::make_unique<RewardModel>(
        RewardModelShape{s_.input, vocab_, s_.experts, s_.expert_hidden, s_.top_k}, seed);
  }

 private:
  MotorSettings s_;
  int64_t vocab_;
  int64_t candidates_;
  std::unique_ptr<RewardModel> net_;  // the reward model, when experts > 0
  torch::Tensor x_;                   // (1, input) this tick's state, for learn
};

}  // namespace

brain::RegionKind motor_kind() {
  return brain::make_region_kind<Motor, MotorSettings>(
      "motor", "answer: the best of motor_candidates names by predicted valence");
}

}  // namespace elarin::regions
