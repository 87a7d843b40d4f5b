// The insula: usage is an exponential average of the answers (window 20), aversion =
// max(0, usage - 1/V) x (1 - reward rate), checked against that formula; a brain that is
// right feels no aversion; its state round-trips.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "regions/region_test_util.hpp"

namespace {

using elarin::test::Made;

torch::Tensor aversion(Made& m, int64_t prev, float rate) {
  auto p = torch::zeros({10});
  if (prev >= 0) p[prev] = 1;
  return m.region->tick({}, {{"previous", p}, {"reward_rate", torch::full({1}, rate)}})
      .at("aversion");
}

TEST(Insula, AversionFollowsUsageAndLowReward) {
  Made m("insula");  // window 20
  torch::Tensor a;
  for (int n = 0; n < 20; ++n) a = aversion(m, 3, 0.25f);
  const double usage = 1 - std::pow(0.95, 20);  // 0.6415
  EXPECT_NEAR(a[3].item<float>(), (usage - 0.1) * 0.75, 1e-5);
  EXPECT_EQ(a.sum().item<float>(), a[3].item<float>()) << "names said less than 1/V: none";
  EXPECT_EQ(aversion(m, -1, 1.0f).sum().item<float>(), 0.0f) << "all right: no aversion";
  Made copy("insula");
  copy.region->load_state(m.region->state());
  EXPECT_TRUE(torch::equal(aversion(copy, 3, 0.5f), aversion(m, 3, 0.5f)));
}

}  // namespace
