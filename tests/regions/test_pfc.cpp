// The pfc: its context is gain x the recency-weighted mean of the last `span` states (newest
// weight 1, each older one decay times the next), checked against that formula; silent
// (all-zero) ticks are not written; older states fall out; its slots round-trip.
#include <gtest/gtest.h>
#include <torch/torch.h>

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

}  // namespace
