// SpikingAttention: hard k-winners-take-all gains in the forward pass, the straight-through
// sigmoid gradient in the backward pass.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/nn/spiking_attention.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::nn::SpikingAttention;
using elarin::test::max_abs_diff;

TEST(SpikingAttention, GainsHaveExactlyKOnesAndTheFloorElsewhere) {
  torch::manual_seed(0);
  for (double floor : {0.0, 0.1}) {
    SCOPED_TRACE("floor " + std::to_string(floor));
    SpikingAttention att(12, 4, floor);
    auto summary = torch::randn({9, 12});
    auto g = att->gains(summary);
    ASSERT_EQ(g.sizes(), (std::vector<int64_t>{9, 12}));
    auto ones = g.eq(1.0);
    EXPECT_TRUE(torch::equal(ones.sum(1), torch::full({9}, 4, torch::kInt64)));
    const auto floor_f = static_cast<float>(floor);
    EXPECT_TRUE(g.masked_select(ones.logical_not()).eq(floor_f).all().item<bool>())
        << "non-winners are not exactly the floor";
    // The winners are the scorer's top-k channels.
    auto top = std::get<1>(att->scorer(summary).topk(4, 1));
    EXPECT_TRUE(ones.gather(1, top).all().item<bool>());
  }
}

TEST(SpikingAttention, ForwardMultipliesByTheHardGains) {
  torch::manual_seed(1);
  SpikingAttention att(6, 2, 0.25);
  auto x = torch::randn({3, 6, 5});
  auto summary = x.mean(2);
  auto g = att->gains(summary).detach();
  auto y = att(x);  // summary defaults to the mean over L
  EXPECT_LE(max_abs_diff(y, x * g.unsqueeze(2)), 1e-6)
      << "max diff " << max_abs_diff(y, x * g.unsqueeze(2));
  EXPECT_TRUE(torch::equal(att(x), att(x, summary)));
  auto x2 = torch::randn({3, 6});
  EXPECT_LE(max_abs_diff(att(x2), x2 * att->gains(x2)), 1e-6);
  EXPECT_THROW(att(torch::randn({3, 5, 2})), c10::Error);
}

TEST(SpikingAttention, ScorerLearnsThroughTheStraightThroughEstimator) {
  torch::manual_seed(2);
  SpikingAttention att(8, 3);
  auto x = torch::randn({4, 8, 6});
  auto y = att(x);
  (y * torch::randn_like(y)).sum().backward();
  ASSERT_TRUE(att->scorer->weight.grad().defined()) << "no gradient reached the scorer";
  EXPECT_GT(att->scorer->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(att->scorer->bias.grad().abs().sum().item<double>(), 0.0);
  // The straight-through gradient w.r.t. the scores is (1 - floor) sigmoid'(score) times the
  // upstream gradient: check d/d(bias) against that reference.
  att->zero_grad();
  auto summary = torch::randn({4, 8});
  auto upstream = torch::randn({4, 8});
  (att->gains(summary) * upstream).sum().backward();
  torch::NoGradGuard no_grad;
  auto s = torch::sigmoid(att->scorer(summary));
  auto want = (upstream * s * (1 - s)).sum(0);
  const double d = max_abs_diff(att->scorer->bias.grad(), want);
  EXPECT_LE(d, 1e-5) << "d/d(bias) vs sigmoid' reference, max diff " << d;
}

TEST(SpikingAttention, RejectsBadArguments) {
  EXPECT_THROW(SpikingAttention(8, 0), elarin::UsageError);
  EXPECT_THROW(SpikingAttention(8, 9), elarin::UsageError);
  EXPECT_THROW(SpikingAttention(8, 2, 1.5), elarin::UsageError);
}

}  // namespace
