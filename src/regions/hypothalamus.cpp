// Hypothalamus: neuromodulation. On a reward it sends dopamine = reward - the value the
// brain predicted for its answer (the reward-prediction error; `dopamine: reward` sends the
// raw reward, `dopamine: none` a constant, the "no dopamine modulation" ablation where
// plasticity is blind to reward), plus `treat_bonus` for a person's treat, plus
// favour_boost x the amygdala's predicted valence of the answer given when that is
// favourable (its `valence` port; zeros when unwired). It also sets the selection
// temperature: base_temperature x (1 - the running reward rate), so the brain explores less
// as it gets things right. Its state is that running rate.
#include <torch/torch.h>

#include <algorithm>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct HypothalamusSettings {
  std::string dopamine = "rpe";
  double treat_bonus = 0.5;
  double base_temperature = 0.0;
  double rate_decay = 0.99;
  double favour_boost = 0.05;
  template <class V>
  void visit(V& v) {
    v("dopamine", dopamine,
      "rpe: reward - expected; reward: the raw reward; none: constant 1, plasticity is plain "
      "Hebbian and blind to reward (the ablation)",
      one_of({"rpe", "reward", "none"}));
    v("treat_bonus", treat_bonus, "extra dopamine for a treat (a person's explicit +)");
    v("base_temperature", base_temperature,
      "selection temperature at reward rate 0 (when "
      "nothing is right yet)",
      at_least(0));
    v("rate_decay", rate_decay,
      "decay of the running reward rate: r <- decay r + (1 - decay) [reward > 0]",
      in_range(0, 1).open_high());
    v("favour_boost", favour_boost,
      "extra dopamine x max(0, the amygdala's predicted valence of the answer given)");
  }
};

class Hypothalamus : public brain::Region {
 public:
  Hypothalamus(const HypothalamusSettings& s, const brain::BrainFacts& f)
      : Region("hypothalamus"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.hypothalamus");
  }
  std::vector<brain::PortSpec> inputs() const override {
    return {{"expected", 1}, {"emitted", vocab_}, {"valence", vocab_}};
  }
  std::vector<brain::PortSpec> outputs() const override { return {{"reward_rate", 1}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    expected_ = in.at("expected").item<double>();
    const auto& e = in.at("emitted");
    action_ = e.max().item<float>() > 0 ? e.argmax().item<int64_t>() : -1;
    favour_ = action_ >= 0 ? std::max(0.0, in.at("valence")[action_].item<double>()) : 0.0;
    return {{"reward_rate", torch::full({1}, float(rate_))}};
  }

  bool modulates() const override { return true; }
  brain::Neuromodulators neuromodulate(int64_t tick, double reward, bool treat) override {
    rate_ = s_.rate_decay * rate_ + (1 - s_.rate_decay) * (reward > 0 ? 1.0 : 0.0);
    brain::Neuromodulators m;
    m.tick = tick;
    m.reward = reward;
    m.treat = treat;
    m.action = action_;
    m.expected = expected_;
    if (s_.dopamine == "none") {
      m.dopamine = 1.0;  // no modulation: every act is reinforced alike
    } else {
      m.dopamine = (s_.dopamine == "rpe" ? reward - expected_ : reward) +
                   (treat ? s_.treat_bonus : 0.0) + s_.favour_boost * favour_;
    }
    m.temperature = s_.base_temperature * (1 - rate_);
    return m;
  }

  brain::RegionState state() const override {
    return {{"reward_rate", torch::full({1}, rate_, torch::kDouble)}};
  }
  void load_state(const brain::RegionState& st) override {
    rate_ = brain::state_tensor(st, "reward_rate", {1}, torch::kDouble).item<double>();
  }
  void initialise(uint64_t) override { rate_ = 0; }

 private:
  HypothalamusSettings s_;
  int64_t vocab_;
  double rate_ = 0;
  double expected_ = 0;
  double favour_ = 0;  // the amygdala's favourable valence of the answer given
  int64_t action_ = -1;
};

}  // namespace

brain::RegionKind hypothalamus_kind() {
  return brain::make_region_kind<Hypothalamus, HypothalamusSettings>(
      "hypothalamus", "neuromodulation: dopamine as reward-prediction error, temperature");
}

}  // namespace elarin::regions
