// Insula: interoception. It feels how the brain is doing (the hypothalamus's running reward
// rate) and what it keeps doing (how often each name was said over the recent answers, an
// exponential average with `window` answers' memory), and outputs an aversion per name:
// max(0, share - 1/V) x (1 - reward rate). A name said far more than its share while
// things go badly is what a stuck loop looks like; the motor subtracts it. When the brain
// is right, or its answers are spread evenly, the aversion is ~0. Leaves out bodily
// signals other than reward (no sensors for them yet).
#include <torch/torch.h>

#include <algorithm>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct InsulaSettings {
  double window = 20;
  template <class V>
  void visit(V& v) {
    v("window", window, "answers the usage average remembers (its time constant)", at_least(1));
  }
};

class Insula : public brain::Region {
 public:
  Insula(const InsulaSettings& s, const brain::BrainFacts& f)
      : Region("insula"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.insula");
    initialise(0);
  }
  std::vector<brain::PortSpec> inputs() const override {
    return {{"previous", vocab_}, {"reward_rate", 1}};
  }
  std::vector<brain::PortSpec> outputs() const override { return {{"aversion", vocab_}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    const auto& prev = in.at("previous");  // last tick's answer (one-hot), zeros at first
    if (prev.max().item<float>() > 0) {
      const double k = 1.0 / s_.window;
      usage_ = (1 - k) * usage_ + k * prev;
    }
    const double rate = std::clamp(in.at("reward_rate").item<double>(), 0.0, 1.0);
    auto aversion = (usage_ - 1.0 / double(vocab_)).clamp_min(0) * (1 - rate);
    return {{"aversion", aversion}};
  }

  brain::RegionState state() const override { return {{"usage", usage_.clone()}}; }
  void load_state(const brain::RegionState& st) override {
    const auto& u = brain::state_tensor(st, "usage", {vocab_}, torch::kFloat);
    if (u.numel() > 0 && (u.min().item<float>() < 0 || u.max().item<float>() > 1))
      throw FormatError("state tensor 'usage' holds values outside 0..1");
    usage_ = u.clone();
  }
  void initialise(uint64_t) override { usage_ = torch::zeros({vocab_}); }

 private:
  InsulaSettings s_;
  int64_t vocab_;
  torch::Tensor usage_;  // (V) recent share of each name among the answers
};

}  // namespace

brain::RegionKind insula_kind() {
  return brain::make_region_kind<Insula, InsulaSettings>(
      "insula", "interoception: aversion to names said too often while reward is low");
}

}  // namespace elarin::regions
