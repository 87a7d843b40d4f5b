// Prefrontal cortex: working memory. Silent ticks (all-zero states) are never written. Its
// context is a feedback edge, so the context of tick t holds states up to t-1. Two kinds of
// memory (`gating`):
// - none: it keeps the last `span` states it was shown (the thalamus's focus) and outputs
//   their recency-weighted mean, the newest with weight 1 and each older one `decay` times
//   the next, scaled by `gain`. Every state is kept.
// - learned: PBWM (O'Reilly & Frank 2006). `stripes` slots, each either updated with the
//   tick's state (Go) or holding what it has (NoGo). The striatal gate is a sparse reward
//   model (reward_model.hpp) that reads the state and predicts the reward after each stripe's
//   Go and NoGo. Per stripe the larger wins, or with probability `explore` a coin chooses
//   (draws from the tick's seed, so ZeroMQ runs match). A rating credits the decisions
//   taken on the ticks before the rated one (those shaped the context it answered in): one
//   SGD step moves each taken decision's prediction towards the reward, so its error is the
//   gate's dopamine. The context is `gain` times the mean of the stripes written so far.
// Persisted as its slots, and for learned gating its gate and its uncredited decisions, so a
// resumed brain remembers what it held.
#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "core/splitmix.hpp"
#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"
#include "regions/reward_model.hpp"

namespace elarin::regions {
namespace {

struct PfcSettings {
  int64_t input = 128;
  std::string gating = "none";
  int64_t span = 8;
  double decay = 0.7;
  double gain = 0.5;
  int64_t stripes = 1;
  int64_t expert_count = 16;
  int64_t expert_hidden = 256;
  int64_t top_k = 2;
  double lr = 0.01;
  double explore = 0.05;
  double state_gain = 0;
  int64_t pending = 64;
  template <class V>
  void visit(V& v) {
    v("input", input, "size of the remembered state (the thalamus's focus)", at_least(1));
    v("gating", gating,
      "none: keep every state, context = recency-weighted mean; learned: PBWM stripes whose "
      "Go/NoGo gates learn from reward what to hold",
      one_of({"none", "learned"}));
    v("span", span, "gating none: states it remembers (working memory slots)", at_least(1));
    v("decay", decay, "gating none: weight of each state relative to the next newer one",
      in_range(0, 1));
    v("gain", gain, "scale of the context output");
    v("stripes", stripes, "gating learned: stripes (slots with their own gate)", at_least(1));
    v("expert_count", expert_count, "gating learned: routed experts of the gate's reward model",
      at_least(1));
    v("expert_hidden", expert_hidden, "gating learned: hidden units of each expert", at_least(1));
    v("top_k", top_k, "gating learned: experts that run per row (at most expert_count)",
      at_least(1));
    v("lr", lr, "gating learned: SGD learning rate of the gate per rating", greater_than(0));
    v("explore", explore, "gating learned: chance a stripe's decision is a coin flip",
      in_range(0, 1));
    v("state_gain", state_gain,
      "gating learned: length of the unit states the gate reads; 0 = sqrt(input)", at_least(0));
    v("pending", pending,
      "gating learned: uncredited decisions kept until a rating (the oldest "
      "is dropped)",
      at_least(1));
  }
};

class Pfc : public brain::Region {
 public:
  Pfc(const PfcSettings& s, const brain::BrainFacts& f) : Region("pfc"), s_(s) {
    check_constraints(s, "region.pfc");
    learned_ = s.gating == "learned";
    if (learned_ && s.top_k > s.expert_count)
      throw UsageError("region.pfc.top_k: got " + std::to_string(s.top_k) + ", expected <= " +
                       std::to_string(s.expert_count) + " (region.pfc.expert_count)");
    state_gain_ = s.state_gain > 0 ? s.state_gain : std::sqrt(double(s.input));
    initialise(f.seed);
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"state", s_.input}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"context", s_.input}}; }

  brain::Ports tick(const brain::TickContext& ctx, const brain::Ports& in) override {
    const auto& x = in.at("state");
    const double norm = x.norm().item<double>();
    if (learned_) {
      if (norm > 0) gate(ctx, x, norm);
    } else if (norm > 0) {  // newest first: shift the slots down by one
      slots_ = torch::cat({x.unsqueeze(0), slots_.narrow(0, 0, s_.span - 1)});
      filled_ = std::min(filled_ + 1, s_.span);
    }
    return {{"context", context()}};
  }

  void learn(const brain::Neuromodulators& m) override {
    if (!learned_ || m.reward == 0 || pending_.empty()) return;
    // Credit the decisions taken before the rated tick; the rated tick's own decision shapes
    // only later contexts and waits for the next rating.
    std::vector<torch::Tensor> xs, gos;
    std::vector<Decision> keep;
    for (auto& d : pending_) {
      if (d.tick < m.tick) {
        xs.push_back(d.state);
        gos.push_back(d.go);
      } else {
        keep.push_back(std::move(d));
      }
    }
    pending_ = std::move(keep);
    if (xs.empty()) return;
    auto x = torch::stack(xs);    // (n, input)
    auto go = torch::stack(gos);  // (n, stripes) true = Go
    // Columns 2s (Go) and 2s+1 (NoGo): the decision taken per stripe learns, the other not.
    auto mask = torch::stack({go, go.logical_not()}, 2).to(torch::kFloat).flatten(1);
    auto target = mask * float(m.reward);
    net_->learn(x, target, mask, s_.lr);
  }

  brain::RegionState state() const override {
    brain::RegionState st = {
        {"slots", slots_.clone()},
        {"filled", torch::tensor(std::vector<int64_t>{filled_}, torch::kLong)}};
    if (!learned_) return st;
    st["written"] = written_.to(torch::kLong);  // the bus carries no bools: 0 / 1
    net_->add_state(st, "gate");
    std::vector<torch::Tensor> xs, gos;
    std::vector<int64_t> ticks;
    for (const auto& d : pending_) {
      xs.push_back(d.state);
      gos.push_back(d.go);
      ticks.push_back(d.tick);
    }
    st["pending.state"] = xs.empty() ? torch::zeros({0, s_.input}) : torch::stack(xs);
    st["pending.go"] = gos.empty() ? torch::zeros({0, s_.stripes}, torch::kLong)
                                   : torch::stack(gos).to(torch::kLong);
    st["pending.tick"] = torch::tensor(ticks, torch::kLong);
    return st;
  }
  void load_state(const brain::RegionState& st) override {
    const int64_t rows = learned_ ? s_.stripes : s_.span;
    const auto& slots = brain::state_tensor(st, "slots", {rows, s_.input}, torch::kFloat);
    const int64_t filled = brain::state_tensor(st, "filled", {1}, torch::kLong).item<int64_t>();
    if (filled < 0 || filled > rows)
      throw FormatError("state tensor 'filled' is " + std::to_string(filled) + ", expected 0.." +
                        std::to_string(rows));
    if (!learned_) {
      slots_ = slots.clone();
      filled_ = filled;
      return;
    }
    const auto& written = brain::state_tensor(st, "written", {s_.stripes}, torch::kLong);
    const auto& px = brain::state_tensor(st, "pending.state", {-1, s_.input}, torch::kFloat);
    const auto& pgo = brain::state_tensor(st, "pending.go", {-1, s_.stripes}, torch::kLong);
    const auto& pt = brain::state_tensor(st, "pending.tick", {-1}, torch::kLong);
    if (pgo.size(0) != px.size(0) || pt.size(0) != px.size(0) || px.size(0) > s_.pending)
      throw FormatError("state tensors 'pending.*' hold " + std::to_string(px.size(0)) + ", " +
                        std::to_string(pgo.size(0)) + " and " + std::to_string(pt.size(0)) +
                        " rows, expected one count of at most " + std::to_string(s_.pending));
    net_->load_state(st, "gate");  // validates its tensors before changing anything
    slots_ = slots.clone();
    written_ = written.ne(0);
    filled_ = written_.sum().item<int64_t>();  // what the context reads, whatever 'filled' says
    pending_.clear();
    for (int64_t i = 0; i < px.size(0); ++i)
      pending_.push_back({px[i].clone(), pgo[i].ne(0), pt[i].item<int64_t>()});
  }
  void initialise(uint64_t seed) override {
    slots_ = torch::zeros({learned_ ? s_.stripes : s_.span, s_.input});
    filled_ = 0;
    if (!learned_) return;
    written_ = torch::zeros({s_.stripes}, torch::kBool);
    net_ = std::make_unique<RewardModel>(
        RewardModelShape{s_.input, 2 * s_.stripes, s_.expert_count, s_.expert_hidden, s_.top_k},
        seed);
    pending_.clear();
  }

 private:
  // The stripes' Go/NoGo decisions on state x (norm > 0), applied and kept for credit.
  void gate(const brain::TickContext& ctx, const torch::Tensor& x, double norm) {
    auto xs = x * (state_gain_ / norm);                  // (input) at the gate's scale
    auto q = net_->predict(xs.unsqueeze(0))[0].view({s_.stripes, 2});  // Go, NoGo
    auto go = q.select(1, 0).ge(q.select(1, 1));        // ties: Go (a fresh gate updates)
    uint64_t z = ctx.seed ^ 0x3c6ef372fe94f82bULL;       // a stream apart from other draws
    auto g = go.accessor<bool, 1>();
    for (int64_t s = 0; s < s_.stripes; ++s) {
      z += kSplitMixGamma;
      const double u = double(splitmix64_finish(z) >> 11) * 0x1.0p-53;
      z += kSplitMixGamma;
      if (u < s_.explore) g[s] = splitmix64_finish(z) & 1;
    }
    auto rows = go.nonzero().flatten();
    slots_.index_copy_(0, rows, x.unsqueeze(0).expand({rows.size(0), s_.input}).contiguous());
    written_ |= go;
    filled_ = written_.sum().item<int64_t>();
    pending_.push_back({xs.clone(), go.clone(), ctx.tick});
    if (static_cast<int64_t>(pending_.size()) > s_.pending)  // never rated: forget the oldest
      pending_.erase(pending_.begin());
  }

  torch::Tensor context() const {
    if (filled_ == 0) return torch::zeros({s_.input});
    if (learned_) {
      auto rows = written_.nonzero().flatten();
      return (slots_.index_select(0, rows).mean(0) * s_.gain).to(torch::kFloat);
    }
    auto w = torch::pow(torch::full({filled_}, s_.decay), torch::arange(filled_).to(torch::kFloat));
    auto c = (w.unsqueeze(1) * slots_.narrow(0, 0, filled_)).sum(0) / w.sum();
    return (c * s_.gain).to(torch::kFloat);
  }

  PfcSettings s_;
  bool learned_ = false;
  double state_gain_ = 1;
  torch::Tensor slots_;    // none: (span, input) newest first; learned: (stripes, input)
  int64_t filled_ = 0;     // slots holding a state
  torch::Tensor written_;  // learned: (stripes) bool, stripes ever written
  std::unique_ptr<RewardModel> net_;  // learned: the striatal gate, (input) -> Go/NoGo values
  struct Decision {
    torch::Tensor state;  // (input) at the gate's scale
    torch::Tensor go;     // (stripes) bool, true = Go
    int64_t tick;         // when it was taken
  };
  std::vector<Decision> pending_;  // learned: uncredited decisions, oldest first
};

}  // namespace

brain::RegionKind pfc_kind() {
  return brain::make_region_kind<Pfc, PfcSettings>(
      "pfc",
      "working memory: recency-weighted mean of the last states, or PBWM stripes whose "
      "Go/NoGo gates learn from reward what to hold -> context");
}

}  // namespace elarin::regions
