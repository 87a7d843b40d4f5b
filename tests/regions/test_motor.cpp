// The motor's scoring: value + bonus + recall (faded by the basal ganglia's uncertainty
// with recall_fade) - inhibition + correction - aversion (mixed with the dmn's consolidated value),
// best of region.motor.candidates. Its reward model (region.motor.expert_count > 0): learns from
// reward alone to answer two states differently, learns only the basal ganglia's error, changes
// only the experts routed to, round-trips its state, refuses bad ones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/region_test_util.hpp"
#include "regions/subspace_cortex.hpp"
#include "test_util.hpp"

namespace {

using elarin::test::Made;

int64_t said(Made& m, std::map<std::string, torch::Tensor> set) {
  elarin::brain::Ports in;
  for (const auto& p : m.region->inputs()) in[p.name] = torch::zeros({p.size});
  for (const auto& [p, x] : set) in[p] = x;
  elarin::brain::TickContext greedy;
  greedy.temperature = 0;  // the best candidate, no sampling
  return m.region->tick(greedy, in).at("emitted").argmax().item<int64_t>();
}

torch::Tensor at(int64_t i, float v) {
  auto x = torch::zeros({10});
  x[i] = v;
  return x;
}

// Values for names 1 and 2; the other names far below, so 1 and 2 are among the candidates.
torch::Tensor values(float one, float two) {
  auto x = torch::full({10}, -1.0f);
  x[1] = one;
  x[2] = two;
  return x;
}

TEST(Motor, RecallFadesWhereTheBasalGangliaAreSure) {
  auto value = values(0.5f, 0.0f);  // habit: name 1; memory: name 2 (recall x weight 2 = 0.6)
  auto recall = at(2, 0.3f);
  Made plain("motor", {"region.motor.recall_fade=0", "region.motor.recall_weight=2"});
  EXPECT_EQ(said(plain, {{"value", value}, {"recall", recall}}), 2);
  Made fade("motor", {"region.motor.recall_fade=0.5", "region.motor.recall_weight=2"});
  auto unsure = torch::ones({10});
  EXPECT_EQ(said(fade, {{"value", value}, {"recall", recall}, {"uncertainty", unsure}}), 2);
  auto sure = at(2, 0.2f);  // recall x min(1, 0.2 / 0.5) = 0.4 of it: 0.24 < 0.5
  EXPECT_EQ(said(fade, {{"value", value}, {"recall", recall}, {"uncertainty", sure}}), 1);
}

TEST(Motor, InhibitionCorrectionAversionAndConsolidatedValueMoveTheAnswer) {
  Made m("motor");
  auto value = values(0.5f, 0.4f);
  EXPECT_EQ(said(m, {{"value", value}}), 1);
  EXPECT_EQ(said(m, {{"value", value}, {"inhibition", at(1, 0.2f)}}), 2);
  EXPECT_EQ(said(m, {{"value", value}, {"correction", at(1, -0.2f)}}), 2);
  EXPECT_EQ(said(m, {{"value", value}, {"aversion", at(1, 0.2f)}}), 2);
  EXPECT_EQ(said(m, {{"value", value}, {"aversion", at(1, 0.05f)}}), 1);
  EXPECT_EQ(said(m, {{"value", value}, {"consolidated", at(2, 5.0f)}}), 1) << "mix 0: unheard";
  // Mixed: value x (1 - mix) + consolidated x mix. Name 1: 0.5 x 0.5 = 0.25; name 2: 0.4 x
  // 0.5 + c x 0.5, above 0.25 for c > 0.1.
  Made mixed("motor", {"region.motor.consolidated_mix=0.5"});
  EXPECT_EQ(said(mixed, {{"value", value}, {"consolidated", at(2, 0.2f)}}), 2);
  EXPECT_EQ(said(mixed, {{"value", value}, {"consolidated", at(2, 0.05f)}}), 1);
  EXPECT_THROW(Made("motor", {"region.motor.consolidated_mix=1.5"}), elarin::UsageError);
}

// The reward model alone (every other port zero): `state` in, a name out, reward back.
int64_t answer(Made& m, const torch::Tensor& state) { return said(m, {{"state", state}}); }

void reward(Made& m, int64_t action, double r) {
  elarin::brain::Neuromodulators mod;
  mod.action = action;
  mod.reward = r;
  m.region->learn(mod);
}

const std::vector<std::string> kSmallNet = {"region.motor.expert_count=4", "region.motor.top_k=2",
                                            "region.motor.expert_hidden=16", "region.motor.input=8",
                                            "region.motor.lr=0.1"};

TEST(Motor, TheRewardModelLearnsToNameFromRewardAlone) {
  Made m("motor", kSmallNet);
  auto gen = at::detail::createCPUGenerator(7);
  auto a = torch::randn({8}, gen), b = torch::randn({8}, gen);
  a /= a.norm();
  b /= b.norm();
  Made plain("motor");
  EXPECT_EQ(answer(m, a), said(plain, {})) << "untrained, it predicts 0 for every name";
  // The critic rewards 3 for a and 7 for b and punishes every other answer; the motor only
  // ever hears whether the answer it gave was right.
  int64_t right = 0;
  for (int round = 0; round < 200; ++round)
    for (const auto& [x, want] : {std::pair{a, int64_t{3}}, std::pair{b, int64_t{7}}}) {
      const int64_t said = answer(m, x);
      reward(m, said, said == want ? 1.0 : -1.0);
      right += round >= 150 && said == want;
    }
  EXPECT_EQ(answer(m, a), 3);
  EXPECT_EQ(answer(m, b), 7);
  EXPECT_EQ(right, 100) << "the last 50 rounds all right";
}

TEST(Motor, OnlyTheRoutedExpertsLearnAndTheStateRoundTrips) {
  Made m("motor", {"region.motor.expert_count=6", "region.motor.top_k=2",
                   "region.motor.expert_hidden=16", "region.motor.input=8"});
  auto before = m.region->state();
  EXPECT_EQ(before.at("net.routed.0.fc1.weight").sizes(), (std::vector<int64_t>{16, 8}));
  auto x = torch::ones({8}) / std::sqrt(8.0);
  answer(m, x);
  reward(m, 0, 0.0);  // no reward: nothing learned
  for (const auto& [k, t] : m.region->state()) EXPECT_TRUE(torch::equal(t, before.at(k))) << k;
  answer(m, x);
  elarin::brain::Neuromodulators right;  // the basal ganglia expected this reward: no error
  right.action = 4;
  right.reward = right.expected = 1.0;
  m.region->learn(right);
  for (const auto& [k, t] : m.region->state())
    if (k != "net.balance_bias") {
      EXPECT_TRUE(torch::equal(t, before.at(k))) << k;
    }
  answer(m, x);
  reward(m, 4, 1.0);
  auto after = m.region->state();
  int changed = 0;
  for (int e = 0; e < 6; ++e) {
    const auto key = "net.routed." + std::to_string(e) + ".fc2.bias";
    changed += !torch::equal(after.at(key), before.at(key));
    EXPECT_TRUE(torch::equal(after.at("net.routed." + std::to_string(e) + ".fc1.weight"),
                             before.at("net.routed." + std::to_string(e) + ".fc1.weight")))
        << "fc2 starts at zero, so fc1 has no gradient on the first step";
  }
  EXPECT_EQ(changed, 2) << "top_k 2 of 6 experts ran and learned";
  EXPECT_FALSE(torch::equal(after.at("net.balance_bias"), before.at("net.balance_bias")));

  Made twin("motor", {"region.motor.expert_count=6", "region.motor.top_k=2",
                      "region.motor.expert_hidden=16", "region.motor.input=8"});
  twin.region->initialise(99);
  twin.region->load_state(after);
  for (const auto& [k, t] : twin.region->state()) EXPECT_TRUE(torch::equal(t, after.at(k))) << k;
  auto bad = after;
  bad["net.balance_bias"] = torch::zeros({7});
  Made other("motor", {"region.motor.expert_count=6", "region.motor.top_k=2",
                       "region.motor.expert_hidden=16", "region.motor.input=8"});
  auto kept = other.region->state();
  EXPECT_THROW(other.region->load_state(bad), elarin::FormatError);
  for (const auto& [k, t] : other.region->state())
    EXPECT_TRUE(torch::equal(t, kept.at(k))) << k << ": a refused state changes nothing";
}

TEST(Motor, WithoutExpertsThereIsNoStatePortAndBadNetworksAreRefused) {
  Made plain("motor");
  for (const auto& p : plain.region->inputs()) EXPECT_NE(p.name, "state");
  EXPECT_TRUE(plain.region->state().empty());
  Made net("motor", kSmallNet);
  EXPECT_EQ(net.region->inputs().back().name, "state");
  EXPECT_EQ(net.region->inputs().back().size, 8);
  EXPECT_THROW(Made("motor", {"region.motor.expert_count=-1"}), elarin::UsageError);
  EXPECT_THROW(Made("motor", {"region.motor.expert_count=2", "region.motor.top_k=3"}),
               elarin::UsageError);
  EXPECT_THROW(Made("motor", {"region.motor.expert_count=2", "region.motor.lr=0"}),
               elarin::UsageError);
}

// region.motor.candidates is the motor's own setting, checked where the motor is built: more
// candidates than names is an error naming both (it was silently clamped), and settings made
// in code are checked as a config file's are.
TEST(Motor, CandidatesAreItsOwnSettingAndCheckedNotClamped) {
  Made three("motor", {"brain.vocabulary=[a, b, c]", "region.motor.candidates=3"});
  EXPECT_EQ(three.region->outputs().at(0).size, 3);
  const std::string msg = elarin::test::error_message<elarin::UsageError>([] {
    Made("motor", {"brain.vocabulary=[a, b, c]", "region.motor.candidates=4"});
  });
  EXPECT_EQ(msg, "region.motor.candidates: got 4, expected <= 3 (brain.vocabulary's size)");
  // A settings struct filled in code meets the same declared constraints in the constructor.
  elarin::regions::SubspaceSettings cortex;
  cortex.input = 0;
  EXPECT_EQ(elarin::test::error_message<elarin::UsageError>(
                [&] { elarin::regions::SubspaceCortex("occipital", cortex); }),
            "region.occipital.input: got 0, expected >= 1");
  cortex.input = 64;
  cortex.features = 128;
  EXPECT_EQ(elarin::test::error_message<elarin::UsageError>(
                [&] { elarin::regions::SubspaceCortex("auditory", cortex); }),
            "region.auditory.features: got 128, expected <= 64 (region.auditory.input)");
}

}  // namespace
