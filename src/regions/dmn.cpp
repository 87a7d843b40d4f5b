// Default mode network: the slow cortical learner of complementary learning systems
// (McClelland, McNaughton & O'Reilly 1995). It never learns from the live tick. Each tick it
// takes one SGD step on the episodes the hippocampus replays (replay_state, replay_answer,
// replay_outcome; a slot with outcome 0 is empty), interleaved as they come, so what it
// learns outlasts the hippocampus's forgetting. Its model is the regions' sparse reward model
// (reward_model.hpp): a Bio-MoE that reads a state and predicts each name's outcome (+1
// rewarded, -1 punished). With `exclusive` (the naming task's one right name) a rewarded
// answer also says every other name would have been punished. Only the routed experts (top_k
// per replayed row) run and change. States reach the model at length `gain` (sqrt(input) by
// default: entries of RMS 1). Outputs the prediction for the live state (`state`, the
// thalamus's fused vector, scaled the same way) on `value`, which the motor mixes into its
// names' values (`consolidated`, region.motor.consolidated_mix); zeros when nothing is shown.
// Leaves out replay at rest only (it replays on every tick).
#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"
#include "regions/reward_model.hpp"

namespace elarin::regions {
namespace {

struct DmnSettings {
  int64_t input = 512;
  int64_t replay = 4;
  int64_t expert_count = 16;
  int64_t expert_hidden = 256;
  int64_t top_k = 2;
  double lr = 0.001;  // for states at gain sqrt(input)
  bool exclusive = true;
  double gain = 0;
  template <class V>
  void visit(V& v) {
    v("input", input, "size of a state (the thalamus's fused vector)", at_least(1));
    v("replay", replay, "episodes replayed per tick; must equal region.hippocampus.replay",
      at_least(1));
    v("expert_count", expert_count, "routed experts of the dmn's model", at_least(1));
    v("expert_hidden", expert_hidden, "hidden units of each expert (input -> hidden -> names)",
      at_least(1));
    v("top_k", top_k, "experts that run per row (at most expert_count)", at_least(1));
    v("lr", lr, "SGD learning rate on the replayed episodes", greater_than(0));
    v("gain", gain,
      "scale of the unit states the model reads; 0 = sqrt(input): entries of RMS 1, the scale "
      "its Kaiming-initialised experts expect",
      at_least(0));
    v("exclusive", exclusive,
      "one name is right per state: a rewarded episode also teaches -1 for every other name "
      "(false: it teaches only its answer)");
  }
};

class Dmn : public brain::Region {
 public:
  Dmn(const DmnSettings& s, const brain::BrainFacts& f)
      : Region("dmn"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.dmn");
    if (vocab_ < 1) throw UsageError("dmn: brain.vocabulary is empty");
    if (s.top_k > s.expert_count)
      throw UsageError("region.dmn.top_k: got " + std::to_string(s.top_k) + ", expected <= " +
                       std::to_string(s.expert_count) + " (region.dmn.expert_count)");
    gain_ = s.gain > 0 ? s.gain : std::sqrt(double(s.input));
    initialise(f.seed);
  }
  std::vector<brain::PortSpec> inputs() const override {
    return {{"state", s_.input},
            {"replay_state", s_.replay * s_.input},
            {"replay_answer", s_.replay},
            {"replay_outcome", s_.replay}};
  }
  std::vector<brain::PortSpec> outputs() const override { return {{"value", vocab_}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    const auto& outcome = in.at("replay_outcome");
    auto rows = outcome.ne(0).nonzero().flatten();  // filled slots
    if (rows.numel() > 0) {
      auto x = in.at("replay_state").view({s_.replay, s_.input}).index_select(0, rows) * gain_;
      auto answer = in.at("replay_answer").index_select(0, rows).to(torch::kLong).unsqueeze(1);
      auto got = outcome.index_select(0, rows).unsqueeze(1);  // (n, 1) +1 / -1
      if (answer.min().item<int64_t>() >= 0 && answer.max().item<int64_t>() < vocab_) {
        auto said = torch::zeros({rows.size(0), vocab_}).scatter_(1, answer, 1.0);  // (n, names)
        // A punished answer teaches -1 for itself; a rewarded one +1 for itself and, when
        // exclusive, -1 for every other name.
        auto rewarded = (got > 0).to(torch::kFloat);
        auto target = said * got - (1 - said) * rewarded;
        auto mask = s_.exclusive ? said + (1 - said) * rewarded : said;
        net_->learn(x, target, mask, s_.lr);
      }
    }
    const auto& state = in.at("state");
    const double norm = state.norm().item<double>();
    if (norm == 0) return {{"value", torch::zeros({vocab_})}};
    // At the replayed states' scale: unit length, as the hippocampus stores them, times gain.
    return {{"value", net_->predict((state * (gain_ / norm)).unsqueeze(0))[0].clone()}};
  }

  brain::RegionState state() const override {
    brain::RegionState st;
    net_->add_state(st, "net");
    return st;
  }
  void load_state(const brain::RegionState& st) override { net_->load_state(st, "net"); }
  void initialise(uint64_t seed) override {
    net_ = std::make_unique<RewardModel>(
        RewardModelShape{s_.input, vocab_, s_.expert_count, s_.expert_hidden, s_.top_k}, seed);
  }

 private:
  DmnSettings s_;
  int64_t vocab_;
  double gain_;  // the scale states are fed at
  std::unique_ptr<RewardModel> net_;
};

}  // namespace

brain::RegionKind dmn_kind() {
  return brain::make_region_kind<Dmn, DmnSettings>(
      "dmn", "default mode network: a sparse reward model consolidated from hippocampal replay");
}

}  // namespace elarin::regions
