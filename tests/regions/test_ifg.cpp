// The ifg: a punished answer is inhibited in the same state, decaying per tick, and not in an
// unrelated one; rewards and ratings later than region.ifg.feedback_buffer_s teach it nothing;
// the oldest punishment goes when the buffer is full; saved state gives identical outputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "regions/region_test_util.hpp"

namespace {

using elarin::brain::Neuromodulators;
using elarin::brain::TickContext;
using elarin::test::Made;

torch::Tensor inhibition(Made& m, int64_t tick, const torch::Tensor& x) {
  TickContext ctx;
  ctx.tick = tick;
  return m.region->tick(ctx, {{"state", x}}).at("inhibition");
}

Neuromodulators rating(int64_t tick, int64_t action, double reward, double delay_s = 0) {
  Neuromodulators n;
  n.tick = tick;
  n.action = action;
  n.reward = reward;
  n.dopamine = reward;
  n.delay_s = delay_s;
  return n;
}

torch::Tensor unit(int64_t i) {
  auto x = torch::zeros({128});
  x[i] = 1;
  return x;
}

TEST(Ifg, InhibitsAPunishedAnswerInSimilarStatesAndDecays) {
  Made m("ifg");  // decay 0.9, sharpness 4
  inhibition(m, 10, unit(0));
  m.region->learn(rating(10, 7, -1.0));
  auto now = inhibition(m, 11, unit(0));
  EXPECT_NEAR(now[7].item<float>(), 0.9f, 1e-6);  // one tick later
  EXPECT_EQ(now.sum().item<float>(), now[7].item<float>()) << "only the punished name";
  EXPECT_NEAR(inhibition(m, 20, unit(0))[7].item<float>(), std::pow(0.9f, 10), 1e-6);
  EXPECT_EQ(inhibition(m, 11, unit(1))[7].item<float>(), 0.0f) << "an unrelated state";
  // cos 0.8 -> 0.8^4 x 0.9
  auto near = 0.8 * unit(0) + 0.6 * unit(1);
  EXPECT_NEAR(inhibition(m, 11, near)[7].item<float>(), std::pow(0.8f, 4) * 0.9f, 1e-5);
}

TEST(Ifg, RewardsAndLateRatingsTeachNothing) {
  Made m("ifg", {"region.ifg.feedback_buffer_s=30"});
  inhibition(m, 0, unit(0));
  m.region->learn(rating(0, 3, +1.0));
  inhibition(m, 1, unit(0));
  m.region->learn(rating(1, 3, -1.0, /*delay_s=*/31.0));  // too late to know what it meant
  EXPECT_EQ(inhibition(m, 2, unit(0)).abs().sum().item<float>(), 0.0f);
  m.region->learn(rating(2, 3, -1.0, /*delay_s=*/29.0));
  EXPECT_GT(inhibition(m, 3, unit(0))[3].item<float>(), 0.8f);
}

TEST(Ifg, ForgetsTheOldestWhenFullAndRoundTripsItsState) {
  Made m("ifg", {"region.ifg.capacity=2", "region.ifg.decay=1"});
  for (int64_t a : {1, 2, 3}) {
    inhibition(m, a, unit(0));
    m.region->learn(rating(a, a, -1.0));
  }
  auto out = inhibition(m, 4, unit(0));
  EXPECT_EQ(out[1].item<float>(), 0.0f) << "the oldest went";
  EXPECT_EQ(out[2].item<float>(), 1.0f);
  EXPECT_EQ(out[3].item<float>(), 1.0f);
  Made copy("ifg", {"region.ifg.capacity=2", "region.ifg.decay=1"});
  copy.region->load_state(m.region->state());
  EXPECT_TRUE(torch::equal(inhibition(copy, 4, unit(0)), out));
  auto bad = m.region->state();
  bad["actions"][0] = 99;
  EXPECT_THROW(copy.region->load_state(bad), elarin::FormatError);
}

}  // namespace
