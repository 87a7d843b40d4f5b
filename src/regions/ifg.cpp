// Inferior frontal gyrus: inhibition of recently punished outputs. It keeps the last
// `capacity` punished answers with the state they were given in (a negative rating that
// arrives within `feedback_buffer_s` seconds of the answer; a later one is ignored),
// and outputs, for each name, how strongly it is inhibited now: the sum over the kept
// punishments of that name of similarity(state, their state)^sharpness x decay^(ticks since).
// Fast and short-lived, unlike the basal ganglia's slow NoGo learning: right after "not
// seven" for this kind of image, "seven" is held back for the next similar ones. The motor
// subtracts inhibition_weight x inhibition from each candidate's score.
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct IfgSettings {
  int64_t input = 128;
  int64_t capacity = 64;
  double decay = 0.9;
  double sharpness = 4.0;
  double feedback_buffer_s = 30.0;
  template <class V>
  void visit(V& v) {
    v("input", input, "size of the state it compares (the thalamus's focus)", at_least(1));
    v("capacity", capacity, "punished answers kept; the oldest is forgotten first", at_least(1));
    v("decay", decay, "share of an inhibition left after each tick", in_range(0, 1));
    v("sharpness", sharpness, "similarity = max(0, cosine)^sharpness: how local inhibition is",
      greater_than(0));
    v("feedback_buffer_s", feedback_buffer_s,
      "seconds after an answer a negative rating still reaches the ifg; a later one teaches "
      "it nothing",
      at_least(0));
  }
};

class Ifg : public brain::Region {
 public:
  Ifg(const IfgSettings& s, const brain::BrainFacts& f)
      : Region("ifg"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.ifg");
    initialise(0);
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"state", s_.input}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"inhibition", vocab_}}; }

  brain::Ports tick(const brain::TickContext& ctx, const brain::Ports& in) override {
    x_ = in.at("state").clone();  // (D)
    tick_ = ctx.tick;
    auto inhibition = torch::zeros({vocab_});
    const int64_t n = count();
    if (n > 0 && x_.norm().item<double>() > 0) {
      auto keys = states_.narrow(0, 0, n);                                     // (n, D)
      auto cos = torch::mv(keys, x_) / (keys.norm(2, 1) * x_.norm() + 1e-12);  // (n)
      auto age = (tick_ - ticks_.narrow(0, 0, n)).clamp_min(0).to(torch::kFloat);
      auto w = cos.clamp_min(0).pow(s_.sharpness) * torch::pow(s_.decay, age);  // (n)
      inhibition.index_add_(0, actions_.narrow(0, 0, n), w);
    }
    return {{"inhibition", inhibition}};
  }

  void learn(const brain::Neuromodulators& m) override {
    if (!x_.defined() || m.reward >= 0 || m.action < 0 || m.action >= vocab_) return;
    if (m.delay_s > s_.feedback_buffer_s) return;  // too late to tell which answer it meant
    const int64_t slot = written_ % s_.capacity;
    states_[slot].copy_(x_);
    actions_[slot] = m.action;
    ticks_[slot] = m.tick;
    ++written_;
  }

  std::map<std::string, double> learning() const override {
    return {{"punished", double(written_)}, {"punished_kept", double(count())}};
  }
  brain::RegionState state() const override {
    return {{"states", states_.clone()},
            {"actions", actions_.clone()},
            {"ticks", ticks_.clone()},
            {"written", torch::full({1}, written_, torch::kLong)}};
  }
  void load_state(const brain::RegionState& st) override {
    const auto& s = brain::state_tensor(st, "states", {s_.capacity, s_.input}, torch::kFloat);
    const auto& a = brain::state_tensor(st, "actions", {s_.capacity}, torch::kLong);
    const auto& t = brain::state_tensor(st, "ticks", {s_.capacity}, torch::kLong);
    const int64_t w = brain::state_tensor(st, "written", {1}, torch::kLong).item<int64_t>();
    if (w < 0) throw FormatError("state tensor 'written' is negative");
    if (a.numel() > 0 && (a.min().item<int64_t>() < 0 || a.max().item<int64_t>() >= vocab_))
      throw FormatError("state tensor 'actions' holds ids outside the vocabulary of " +
                        std::to_string(vocab_));
    states_ = s.clone();
    actions_ = a.clone();
    ticks_ = t.clone();
    written_ = w;
  }
  void initialise(uint64_t) override {
    states_ = torch::zeros({s_.capacity, s_.input});
    actions_ = torch::zeros({s_.capacity}, torch::kLong);
    ticks_ = torch::zeros({s_.capacity}, torch::kLong);
    written_ = 0;
  }

 private:
  int64_t count() const { return std::min(written_, s_.capacity); }

  IfgSettings s_;
  int64_t vocab_;
  torch::Tensor states_;   // (K, D) the states of punished answers
  torch::Tensor actions_;  // (K) their names
  torch::Tensor ticks_;    // (K) their ticks
  int64_t written_ = 0;    // punishments recorded (ring position)
  torch::Tensor x_;        // this tick's state, for learn
  int64_t tick_ = 0;
};

}  // namespace

brain::RegionKind ifg_kind() {
  return brain::make_region_kind<Ifg, IfgSettings>(
      "ifg", "inhibition of recently punished answers in similar states (fast, decaying)");
}

}  // namespace elarin::regions
