// The pfc: its context is gain x the recency-weighted mean of the last `span` states (newest
// weight 1, each older one decay times the next), checked against that formula; silent
// (all-zero) ticks are not written; older states fall out; its slots round-trip. With learned
// gating (PBWM) its gates learn from reward alone to hold a cue through distractors; a rating
// credits only the decisions before the rated tick; its state round-trips mid-trial.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/splitmix.hpp"
#include "elarin/core/errors.hpp"
#include "regions/region_test_util.hpp"

namespace {

using elarin::test::Made;

torch::Tensor context(Made& m, const torch::Tensor& x) {
  return m.region->tick({}, {{"state", x}}).at("context");
}

TEST(Pfc, ContextIsTheRecencyWeightedMeanOfTheLastSpanStates) {
  Made m("pfc", {"region.pfc.span=3", "region.pfc.decay=0.5", "region.pfc.gain=2"});
  auto gen = at::detail::createCPUGenerator(5);
  auto xs = torch::randn({4, 128}, gen);
  EXPECT_EQ(context(m, torch::zeros({128})).abs().sum().item<float>(), 0.f) << "empty memory";
  auto c = context(m, xs[0]);
  EXPECT_TRUE(torch::allclose(c, 2 * xs[0], 1e-5, 1e-6));
  context(m, xs[1]);
  auto silent = context(m, torch::zeros({128}));  // not written: still x1, x0
  auto want2 = 2 * (xs[1] + 0.5 * xs[0]) / 1.5;
  EXPECT_LT((silent - want2).abs().max().item<float>(), 1e-5);
  context(m, xs[2]);
  c = context(m, xs[3]);  // span 3: x0 has fallen out
  auto want = 2 * (xs[3] + 0.5 * xs[2] + 0.25 * xs[1]) / 1.75;
  EXPECT_LT((c - want).abs().max().item<float>(), 1e-5)
      << "max diff " << (c - want).abs().max().item<float>();

  Made copy("pfc", {"region.pfc.span=3", "region.pfc.decay=0.5", "region.pfc.gain=2"});
  copy.region->load_state(m.region->state());
  auto x = torch::randn({128}, gen);
  EXPECT_TRUE(torch::equal(context(copy, x), context(m, x)));
}

TEST(Pfc, BadSettingsAndStateAreRefused) {
  EXPECT_THROW(Made("pfc", {"region.pfc.span=0"}), elarin::UsageError);
  EXPECT_THROW(Made("pfc", {"region.pfc.decay=1.5"}), elarin::UsageError);
  Made m("pfc", {"region.pfc.span=3"});
  auto st = m.region->state();
  st["filled"] = torch::tensor(std::vector<int64_t>{4}, torch::kLong);
  EXPECT_THROW(m.region->load_state(st), elarin::FormatError);
  st = m.region->state();
  st["slots"] = torch::zeros({4, 128});
  EXPECT_THROW(m.region->load_state(st), elarin::FormatError);
}

// Learned gating (PBWM). A trial shows cue A0 or A1, 1..3 random distractors, then a probe;
// the answer is right when the context the probe is answered in (the output of the tick
// before it) lies nearer the trial's cue than the other cue. Rewarded that way alone, the
// stripes' gates learn to update on cues and hold through distractors.
struct GatingTrials {
  torch::Tensor cues, distractors, probe;
  at::Generator gen = at::detail::createCPUGenerator(11);
  int64_t tick = 0;
  GatingTrials() {
    cues = torch::randn({2, 16}, gen);
    distractors = torch::randn({40, 16}, gen);
    probe = torch::randn({16}, gen);
  }
  torch::Tensor step(Made& m, const torch::Tensor& x) {
    elarin::brain::TickContext ctx;
    ctx.tick = tick++;
    ctx.seed = elarin::splitmix64(uint64_t(ctx.tick) * 7919);
    return m.region->tick(ctx, {{"state", x}}).at("context");
  }
  // One trial; returns whether the answer was right (and rates it when `rate`).
  bool trial(Made& m, bool rate = true) {
    const int64_t c = torch::randint(2, {1}, gen).item<int64_t>();
    auto context = step(m, cues[c]);
    for (int64_t g = torch::randint(1, 4, {1}, gen).item<int64_t>(); g > 0; --g)
      context = step(m, distractors[torch::randint(40, {1}, gen).item<int64_t>()]);
    const bool right = (context.dot(cues[c]) - context.dot(cues[1 - c])).item<float>() > 0;
    step(m, probe);
    elarin::brain::Neuromodulators nm;
    nm.tick = tick - 1;
    nm.reward = right ? 1.0 : -1.0;
    if (rate) m.region->learn(nm);
    return right;
  }
};

const std::vector<std::string> kLearned = {
    "region.pfc.input=16",         "region.pfc.gating=learned", "region.pfc.expert_count=4",
    "region.pfc.expert_hidden=32", "region.pfc.lr=0.05",        "region.pfc.stripes=2"};

double rate_right(Made& m, GatingTrials& t, int trials, bool rate) {
  int right = 0;
  for (int i = 0; i < trials; ++i) right += t.trial(m, rate);
  return double(right) / trials;
}

TEST(Pfc, LearnedGatesHoldTheCueThroughDistractors) {
  Made m("pfc", kLearned);
  GatingTrials t;
  const double before = rate_right(m, t, 300, false);  // a fresh gate updates on every state
  EXPECT_LT(before, 0.7) << "untrained, the last distractor is held";
  rate_right(m, t, 1500, true);
  const double after = rate_right(m, t, 300, false);
  EXPECT_GE(after, 0.9) << "before " << before;
  // The same trials without ratings teach nothing.
  Made idle("pfc", kLearned);
  GatingTrials u;
  rate_right(idle, u, 1500, false);
  EXPECT_LT(rate_right(idle, u, 300, false), 0.7);
}

TEST(Pfc, ARatingCreditsOnlyTheDecisionsBeforeTheRatedTick) {
  Made m("pfc", kLearned);
  GatingTrials t;
  for (int i = 0; i < 3; ++i) t.step(m, t.distractors[i]);  // ticks 0, 1, 2
  t.step(m, torch::zeros({16}));                            // silent: no decision
  auto before = m.region->state();
  ASSERT_EQ(before.at("pending.tick").size(0), 3);
  elarin::brain::Neuromodulators nm;
  nm.tick = 2;
  nm.reward = 0;  // no rating: nothing learns, nothing is credited
  m.region->learn(nm);
  EXPECT_EQ(m.region->state().at("pending.tick").size(0), 3);
  nm.reward = 1;
  m.region->learn(nm);
  auto after = m.region->state();
  EXPECT_TRUE(torch::equal(after.at("pending.tick"), torch::tensor({2}, torch::kLong)));
  bool changed = false;
  for (const auto& [k, v] : before)
    if (k.rfind("gate.", 0) == 0 && !torch::equal(v, after.at(k))) changed = true;
  EXPECT_TRUE(changed) << "the gate learned from the rating";
}

TEST(Pfc, LearnedGatingRoundTripsWithItsUncreditedDecisions) {
  Made m("pfc", kLearned);
  GatingTrials t;
  for (int i = 0; i < 30; ++i) t.trial(m);
  t.step(m, t.cues[0]);
  t.step(m, t.distractors[0]);  // two decisions left uncredited
  Made copy("pfc", kLearned);
  auto st = m.region->state();
  st["filled"] = torch::tensor(std::vector<int64_t>{0}, torch::kLong);  // the stripes say
  copy.region->load_state(st);
  GatingTrials t2 = t;  // same draws from here on
  for (int i = 0; i < 20; ++i) {
    const auto x = t.distractors[i % 40] * (i % 3 == 0 ? 0 : 1);
    EXPECT_TRUE(torch::equal(t.step(m, x), t2.step(copy, x))) << "tick " << i;
    elarin::brain::Neuromodulators nm;
    nm.tick = t.tick - 1;
    nm.reward = i % 2 ? 1.0 : -1.0;
    m.region->learn(nm);
    copy.region->learn(nm);
  }
}

TEST(Pfc, BadLearnedSettingsAndStateAreRefused) {
  EXPECT_THROW(Made("pfc", {"region.pfc.gating=sometimes"}), elarin::UsageError);
  auto with = [](const std::string& extra) {
    auto s = kLearned;
    s.push_back(extra);
    return s;
  };
  EXPECT_THROW(Made("pfc", with("region.pfc.explore=1.5")), elarin::UsageError);
  EXPECT_THROW(Made("pfc", with("region.pfc.top_k=5")), elarin::UsageError);
  EXPECT_THROW(Made("pfc", with("region.pfc.stripes=0")), elarin::UsageError);
  Made m("pfc", kLearned);
  GatingTrials t;
  t.step(m, t.cues[0]);
  auto st = m.region->state();
  st["pending.tick"] = torch::zeros({2}, torch::kLong);
  EXPECT_THROW(m.region->load_state(st), elarin::FormatError);
  st = m.region->state();
  st["slots"] = torch::zeros({3, 16});
  EXPECT_THROW(m.region->load_state(st), elarin::FormatError);
  auto good = m.region->state();
  EXPECT_TRUE(torch::equal(good.at("slots"), m.region->state().at("slots")));
}

}  // namespace
