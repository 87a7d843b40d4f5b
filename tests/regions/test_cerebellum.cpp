// The cerebellum: it learns from repetitions only (punished: g rises by rate (1 - g);
// rewarded: g falls by rate g) and holds back only the previous answer by -g. In a brain
// whose habit says one name to everything and whose world punishes saying the same thing
// twice, it breaks the loop: the repetition rate falls from 1 to ~0. Its granule layer
// (region.cerebellum.granules > 0) learns the plan's error for a state, on the answer's name
// only, and hardly for an unrelated state; its wiring and readout round-trip.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/brain/brain.hpp"
#include "elarin/core/errors.hpp"
#include "regions/region_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::brain::Neuromodulators;
using elarin::test::Made;

torch::Tensor one_hot(int64_t i) {
  auto x = torch::zeros({10});
  if (i >= 0) x[i] = 1;
  return x;
}

Neuromodulators rated(int64_t action, double reward) {
  Neuromodulators n;
  n.action = action;
  n.reward = reward;
  return n;
}

TEST(Cerebellum, LearnsFromRepetitionsAndHoldsBackThePreviousAnswer) {
  Made m("cerebellum");  // rate 0.1
  auto tick = [&](int64_t prev) {
    return m.region->tick({}, {{"previous", one_hot(prev)}}).at("correction");
  };
  tick(4);
  m.region->learn(rated(5, -1));  // not a repetition: nothing
  tick(4);
  m.region->learn(rated(4, -1));  // a punished repetition: g = 0.1
  auto c = tick(4);
  EXPECT_NEAR(c[4].item<float>(), -0.1f, 1e-7);
  EXPECT_EQ(c.abs().sum().item<float>(), 0.1f) << "only the previous answer";
  m.region->learn(rated(4, +1));  // a rewarded repetition: g = 0.1 - 0.01
  EXPECT_NEAR(tick(4)[4].item<float>(), -0.09f, 1e-7);
  EXPECT_EQ(tick(3).abs().sum().item<float>(), 0.0f) << "3 was never wrongly repeated";
}

// A brain with a fixed habit (value 0.5 for name 0, 0.4 for name 1) in a world that punishes
// repeating the previous answer. Returns the repetition rate of the last 100 of 200 ticks.
double loop_repetition(bool with_cerebellum) {
  elarin::test::TempDir dir;
  elarin::Config config;
  elarin::brain::BrainSetup setup(elarin::regions::region_table());
  setup.bind(config);
  std::string regions =
      with_cerebellum ? "[cerebellum, motor, hypothalamus]" : "[motor, hypothalamus]";
  config.load_string("brain:\n  regions: " + regions + R"(
  env_ports: ["value=10"]
  vocabulary: [a, b, c, d, e, f, g, h, i, j]
  connections:
    - env.value -> motor.value
    - motor.emitted -> hypothalamus.emitted
    - motor.expected -> hypothalamus.expected
)" +
                         (with_cerebellum ? "    - motor.emitted -> cerebellum.previous\n    - "
                                            "cerebellum.correction -> motor.correction\n"
                                          : ""),
                     "test");
  config.set("brain.state_dir=" + dir.path);
  elarin::brain::Brain brain(setup);
  brain.load_or_initialise();
  auto value = torch::zeros({10});
  value[0] = 0.5;
  value[1] = 0.4;
  int64_t prev = -1, repeats = 0;
  for (int t = 0; t < 200; ++t) {
    auto out = brain.tick({{"value", value}});
    const int64_t said = out.outputs.at("motor").at("emitted").argmax().item<int64_t>();
    brain.feedback(said == prev ? -1.0 : 1.0);
    if (t >= 100) repeats += said == prev;
    prev = said;
  }
  return double(repeats) / 100.0;
}

TEST(Cerebellum, BreaksARepetitiveLoop) {
  EXPECT_EQ(loop_repetition(false), 1.0);
  EXPECT_LT(loop_repetition(true), 0.1);
}

const std::vector<std::string> kGranules = {
    "region.cerebellum.granules=4000", "region.cerebellum.granule_active=40",
    "region.cerebellum.input=64", "region.cerebellum.purkinje_rate=0.2"};

torch::Tensor correction(Made& m, const torch::Tensor& state, int64_t previous = -1) {
  return m.region->tick({}, {{"previous", one_hot(previous)}, {"state", state}}).at("correction");
}

Neuromodulators planned(int64_t action, double reward, double expected) {
  auto n = rated(action, reward);
  n.expected = expected;
  return n;
}

TEST(Cerebellum, TheGranuleLayerLearnsThePlansErrorForAState) {
  Made m("cerebellum", kGranules);
  auto gen = at::detail::createCPUGenerator(2);
  auto x = torch::randn({64}, gen), y = torch::randn({64}, gen);
  EXPECT_EQ(correction(m, x).abs().sum().item<float>(), 0.f) << "nothing learned yet";
  // The basal ganglia expect 0.5 for name 2 on x; the answer is punished (-1): error -1.5.
  // Normalised LMS with rate 0.2 closes 20% of the gap a step: 0.8^40 of it is left.
  for (int i = 0; i < 40; ++i) {
    correction(m, x);
    m.region->learn(planned(2, -1.0, 0.5));
  }
  auto c = correction(m, x);
  EXPECT_NEAR(c[2].item<float>(), -1.5f, 1.5f * std::pow(0.8f, 40.f) + 1e-5f);
  c[2] = 0;
  EXPECT_EQ(c.abs().sum().item<float>(), 0.f) << "only the answer's name learned";
  // An unrelated state fires mostly other granule cells: little of the lesson carries over.
  EXPECT_LT(std::abs(correction(m, y)[2].item<float>()), 0.5f);
  EXPECT_EQ(correction(m, torch::zeros({64})).abs().sum().item<float>(), 0.f);

  // The wiring and the readout round-trip; a bad wiring is refused and changes nothing.
  Made twin("cerebellum", kGranules);
  twin.region->initialise(77);
  twin.region->load_state(m.region->state());
  EXPECT_TRUE(torch::equal(correction(twin, y), correction(m, y)));
  auto bad = m.region->state();
  bad["granule.inputs"] = bad["granule.inputs"].clone();
  bad["granule.inputs"][0][0] = 64;
  Made other("cerebellum", kGranules);
  auto before = correction(other, x);
  EXPECT_THROW(other.region->load_state(bad), elarin::FormatError);
  EXPECT_TRUE(torch::equal(correction(other, x), before));
  EXPECT_EQ(m.region->state().at("purkinje.weight").sizes(), (std::vector<int64_t>{10, 4000}));
}

TEST(Cerebellum, BadGranuleSettingsAreRefused) {
  EXPECT_THROW(Made("cerebellum", {"region.cerebellum.granules=-1"}), elarin::UsageError);
  EXPECT_THROW(
      Made("cerebellum", {"region.cerebellum.granules=10", "region.cerebellum.granule_active=11"}),
      elarin::UsageError);
  EXPECT_THROW(
      Made("cerebellum", {"region.cerebellum.granules=10", "region.cerebellum.purkinje_rate=0"}),
      elarin::UsageError);
  Made plain("cerebellum");
  EXPECT_EQ(plain.region->inputs().size(), 1u) << "no granules: no state port";
}

}  // namespace
