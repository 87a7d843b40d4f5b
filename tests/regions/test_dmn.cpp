// The dmn (complementary learning systems): it learns each name's outcome from replayed
// episodes alone (with `exclusive`, a rewarded answer also rules out the other names), never from
// the live tick or a reward; only the routed experts change; its state round-trips and a bad one is
// refused. In a brain, the hippocampus's replay teaches it to name what the brain was rewarded for,
// and one process and ZeroMQ agree (tests/brain/test_corpus_callosum.cpp).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "brain/brain_test_util.hpp"
#include "elarin/core/errors.hpp"
#include "regions/region_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::test::Made;

const std::vector<std::string> kSmall = {"region.dmn.input=8", "region.dmn.replay=2",
                                         "region.dmn.expert_count=4", "region.dmn.expert_hidden=16",
                                         "region.dmn.lr=0.0125"};  // states at length sqrt(8)

torch::Tensor unit(uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = torch::randn({8}, gen);
  return x / x.norm();
}

// One tick: the live `state` and two replayed episodes (x, answer, outcome); returns value.
torch::Tensor tick(Made& m, const torch::Tensor& state,
                   const std::vector<std::tuple<torch::Tensor, int64_t, float>>& replayed) {
  auto xs = torch::zeros({2, 8});
  auto answers = torch::zeros({2}), outcomes = torch::zeros({2});
  for (size_t r = 0; r < replayed.size(); ++r) {
    xs[r] = std::get<0>(replayed[r]);
    answers[r] = float(std::get<1>(replayed[r]));
    outcomes[r] = std::get<2>(replayed[r]);
  }
  return m.region
      ->tick({}, {{"state", state},
                  {"replay_state", xs.flatten()},
                  {"replay_answer", answers},
                  {"replay_outcome", outcomes}})
      .at("value");
}

TEST(Dmn, LearnsEachNamesOutcomeFromReplayAlone) {
  Made m("dmn", kSmall);
  auto a = unit(1), b = unit(2);
  EXPECT_EQ(tick(m, a, {}).abs().max().item<float>(), 0.0f) << "untrained: predicts nothing";
  // Replayed: in state a, answer 3 was rewarded and 5 punished; in b, 7 rewarded and 3 punished.
  for (int t = 0; t < 300; ++t) {
    tick(m, torch::zeros({8}), {{a, 3, 1.f}, {b, 7, 1.f}});
    tick(m, torch::zeros({8}), {{a, 5, -1.f}, {b, 3, -1.f}});
  }
  auto va = tick(m, a, {}), vb = tick(m, b, {});
  EXPECT_NEAR(va[3].item<float>(), 1.0f, 0.1) << va;
  EXPECT_NEAR(va[5].item<float>(), -1.0f, 0.1) << va;
  EXPECT_NEAR(vb[7].item<float>(), 1.0f, 0.1) << vb;
  EXPECT_NEAR(vb[3].item<float>(), -1.0f, 0.1) << vb;
  EXPECT_NEAR(va[0].item<float>(), -1.0f, 0.1) << "exclusive: a's right name is 3, so not 0";
  EXPECT_EQ(va.argmax().item<int64_t>(), 3);
  EXPECT_EQ(vb.argmax().item<int64_t>(), 7);
  EXPECT_EQ(tick(m, torch::zeros({8}), {}).abs().max().item<float>(), 0.0f)
      << "nothing shown: no value";
}

TEST(Dmn, WithoutExclusiveARewardTeachesOnlyItsAnswer) {
  auto sets = kSmall;
  sets.push_back("region.dmn.exclusive=false");
  Made m("dmn", sets);
  auto a = unit(1);
  for (int t = 0; t < 300; ++t) tick(m, torch::zeros({8}), {{a, 3, 1.f}, {a, 5, -1.f}});
  auto va = tick(m, a, {});
  EXPECT_NEAR(va[3].item<float>(), 1.0f, 0.1) << va;
  EXPECT_NEAR(va[5].item<float>(), -1.0f, 0.1) << va;
  EXPECT_EQ(va[0].item<float>(), 0.0f) << "a name never replayed keeps its zero output row";
}

TEST(Dmn, LiveTicksAndRewardsTeachItNothingAndOnlyRoutedExpertsChange) {
  Made m("dmn", kSmall);
  auto before = m.region->state();
  auto a = unit(3);
  tick(m, a, {});  // live state, empty replay slots
  elarin::brain::Neuromodulators mod;
  mod.action = 2;
  mod.reward = 1.0;
  mod.dopamine = 1.0;
  m.region->learn(mod);
  for (const auto& [k, t] : m.region->state()) EXPECT_TRUE(torch::equal(t, before.at(k))) << k;
  tick(m, torch::zeros({8}), {{a, 2, 1.f}});  // one replayed row: top_k 2 of 4 experts
  auto after = m.region->state();
  int changed = 0;
  for (int e = 0; e < 4; ++e) {
    const auto key = "net.routed." + std::to_string(e) + ".fc2.bias";
    changed += !torch::equal(after.at(key), before.at(key));
  }
  EXPECT_EQ(changed, 2);
  EXPECT_FALSE(torch::equal(after.at("net.balance_bias"), before.at("net.balance_bias")));
  // An answer outside the vocabulary (a bad message) is not learned.
  tick(m, torch::zeros({8}), {{a, 10, 1.f}});
  for (const auto& [k, t] : m.region->state()) EXPECT_TRUE(torch::equal(t, after.at(k))) << k;
}

TEST(Dmn, StateRoundTripsAndBadStateOrSettingsAreRefused) {
  Made m("dmn", kSmall), twin("dmn", kSmall);
  auto a = unit(4);
  for (int t = 0; t < 20; ++t) tick(m, torch::zeros({8}), {{a, 1, 1.f}, {a, 4, -1.f}});
  twin.region->initialise(77);
  twin.region->load_state(m.region->state());
  EXPECT_TRUE(torch::equal(tick(m, a, {}), tick(twin, a, {})));
  auto bad = m.region->state();
  bad["net.balance_bias"] = torch::zeros({5});
  auto kept = twin.region->state();
  EXPECT_THROW(twin.region->load_state(bad), elarin::FormatError);
  for (const auto& [k, t] : twin.region->state())
    EXPECT_TRUE(torch::equal(t, kept.at(k))) << k << ": a refused state changes nothing";
  EXPECT_THROW(Made("dmn", {"region.dmn.replay=0"}), elarin::UsageError);
  EXPECT_THROW(Made("dmn", {"region.dmn.expert_count=2", "region.dmn.top_k=3"}),
               elarin::UsageError);
  EXPECT_THROW(Made("dmn", {"region.dmn.lr=0"}), elarin::UsageError);
}

// In a brain: after 400 rewarded ticks the dmn, taught only by the hippocampus's replay,
// names at least 90 of the last 100 by itself (its value's best name is the right one).
TEST(Dmn, InABrainReplayTeachesItToName) {
  elarin::test::TempDir dir;
  elarin::test::ConsolidatingBrain s(dir.path);
  elarin::brain::Brain brain(s.setup);
  brain.load_or_initialise();
  elarin::test::World world;
  int right = 0;
  for (int t = 0; t < 500; ++t) {
    auto [x, label] = world.next();
    auto r = brain.tick({{"vision", x}});
    right += t >= 400 && r.outputs.at("dmn").at("value").argmax().item<int64_t>() == label;
    brain.feedback(elarin::test::emitted(r) == label ? 1.0 : -1.0);
  }
  EXPECT_GE(right, 90) << "of the last 100 stimuli, the dmn alone named";
}

}  // namespace
