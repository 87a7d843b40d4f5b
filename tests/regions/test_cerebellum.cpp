// The cerebellum: it learns from repetitions only (punished: g rises by rate (1 - g);
// rewarded: g falls by rate g) and holds back only the previous answer by -g. In a brain
// whose habit says one name to everything and whose world punishes saying the same thing
// twice, it breaks the loop: the repetition rate falls from 1 to ~0.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/brain/brain.hpp"
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

}  // namespace
