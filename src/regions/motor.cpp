// Motor: turns action values into an answer. The `motor_candidates` names with the highest
// value + novelty bonus are the candidates; each is scored by its predicted valence: value +
// bonus + recall_weight x hippocampal recall - inhibition_weight x the ifg's inhibition
// (which arrives from the previous tick). The best candidate is emitted (temperature 0) or
// one is drawn from softmax(score / temperature) with the tick's seed. Outputs the emitted
// name as a one-hot vector and the basal ganglia's value for it (what the hypothalamus
// compares the reward with).
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct MotorSettings {
  double recall_weight =
      1.5;  // weight of the hippocampus's recall in a candidate's score (tuned: docs/BRAIN.md)
  double recall_fade = 0.7;  // uncertainty below which recall fades linearly; 0 = never (tuned)
  double inhibition_weight = 1.0;  // weight of the ifg's inhibition
  double correction_weight = 1.0;  // weight of the cerebellum's correction
  double aversion_weight = 1.0;    // weight of the insula's aversion
  template <class V>
  void visit(V& v) {
    v("recall_weight", recall_weight, "weight of hippocampal recall in a candidate's valence");
    v("recall_fade", recall_fade,
      "recall's weight x min(1, uncertainty / recall_fade): episodic recall counts where the "
      "basal ganglia are unsure (their `uncertainty` port); 0 = full weight always");
    v("inhibition_weight", inhibition_weight, "weight of the ifg's inhibition");
    v("correction_weight", correction_weight, "weight of the cerebellum's correction");
    v("aversion_weight", aversion_weight, "weight of the insula's aversion");
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
    if (s.recall_fade < 0 || s.recall_fade > 1)
      throw UsageError("region.motor.recall_fade: " + std::to_string(s.recall_fade) +
                       ", expected 0 (off) to 1");
  }
  std::vector<brain::PortSpec> inputs() const override {
    return {{"value", vocab_},       {"bonus", vocab_},      {"recall", vocab_},
            {"uncertainty", vocab_}, {"inhibition", vocab_}, {"correction", vocab_},
            {"aversion", vocab_}};
  }
  std::vector<brain::PortSpec> outputs() const override {
    return {{"emitted", vocab_}, {"expected", 1}, {"score", 1}};
  }

  brain::Ports tick(const brain::TickContext& ctx, const brain::Ports& in) override {
    const auto& value = in.at("value");
    auto ucb = value + in.at("bonus");
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

 private:
  MotorSettings s_;
  int64_t vocab_;
  int64_t candidates_;
};

}  // namespace

brain::RegionKind motor_kind() {
  return brain::make_region_kind<Motor, MotorSettings>(
      "motor", "answer: the best of motor_candidates names by predicted valence");
}

}  // namespace elarin::regions
