// MeritBoard: UCB1 and Exp3 on a synthetic Bernoulli bandit, momentum merit, routing bias.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/merit_board.hpp"
#include "test_util.hpp"

namespace {

using elarin::nn::MeritBoard;
using elarin::nn::MeritConfig;

const std::vector<double> kArmP = {0.2, 0.3, 0.5, 0.8, 0.4};  // arm 3 is best
constexpr int64_t kBest = 3;

MeritConfig bandit(const std::string& kind) {
  MeritConfig c;
  c.bandit = kind;
  return c;
}

// Plays `rounds` pulls of the Bernoulli bandit kArmP with a fixed reward seed.
void play(MeritBoard& board, int rounds, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < rounds; ++i) {
    const int64_t arm = board.select();
    ASSERT_GE(arm, 0);
    ASSERT_LT(arm, board.arms());
    board.update(arm, std::bernoulli_distribution(kArmP[arm])(rng) ? 1.0 : 0.0);
  }
}

int64_t argmax(const std::vector<double>& v) {
  return std::max_element(v.begin(), v.end()) - v.begin();
}

TEST(MeritBoard, UcbFindsTheBestBernoulliArm) {
  MeritBoard board(5, bandit("ucb"), /*seed=*/1);
  play(board, 2000, /*seed=*/42);
  const auto& pulls = board.pulls();
  EXPECT_EQ(std::accumulate(pulls.begin(), pulls.end(), int64_t{0}), 2000);
  const auto most = std::max_element(pulls.begin(), pulls.end()) - pulls.begin();
  EXPECT_EQ(most, kBest) << "pulls " << pulls[0] << " " << pulls[1] << " " << pulls[2] << " "
                         << pulls[3] << " " << pulls[4];
  EXPECT_GT(pulls[kBest], 1200) << "best arm pulled " << pulls[kBest] << " / 2000";
  // Every arm was tried, and the running means estimate p.
  for (auto n : pulls) EXPECT_GT(n, 0);
  EXPECT_NEAR(board.mean_reward()[kBest], kArmP[kBest], 0.05);
}

TEST(MeritBoard, UcbTriesEveryArmFirst) {
  MeritBoard board(4, bandit("ucb"));
  std::vector<int64_t> first;
  for (int i = 0; i < 4; ++i) {
    first.push_back(board.select());
    board.update(first.back(), 1.0);  // even a perfect reward does not stop exploration
  }
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(MeritBoard, Exp3FavoursTheBestBernoulliArm) {
  MeritBoard board(5, bandit("exp3"), /*seed=*/7);
  // Before any reward, Exp3 is uniform.
  for (double p : board.scores()) EXPECT_NEAR(p, 0.2, 1e-12);
  play(board, 2000, /*seed=*/43);
  const auto p = board.scores();
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-9);
  EXPECT_EQ(argmax(p), kBest) << "probabilities " << p[0] << " " << p[1] << " " << p[2] << " "
                              << p[3] << " " << p[4];
  EXPECT_GT(p[kBest], 0.5);
  // The exploration share keeps every arm at >= gamma / K.
  for (double v : p) EXPECT_GE(v, 0.1 / 5 - 1e-12);
  const auto& pulls = board.pulls();
  EXPECT_EQ(std::max_element(pulls.begin(), pulls.end()) - pulls.begin(), kBest);
}

TEST(MeritBoard, Exp3StaysFiniteOnLongRuns) {
  // Log-domain weights: 20000 perfect rewards on one arm would overflow exp() otherwise.
  MeritBoard board(3, bandit("exp3"), /*seed=*/3);
  for (int i = 0; i < 20000; ++i) board.update(0, 1.0);
  const auto p = board.scores();
  for (double v : p) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(p[0], 1.0 - 0.1 + 0.1 / 3, 1e-9);
  auto bias = board.routing_bias(torch::ones({3}, torch::kBool));
  EXPECT_TRUE(torch::isfinite(bias).all().item<bool>());
}

TEST(MeritBoard, MeritFollowsMomentumAndRewardsAreClamped) {
  auto cfg = bandit("none");
  cfg.momentum = 0.5;
  MeritBoard board(3, cfg);
  board.update(0, 1.0);
  EXPECT_DOUBLE_EQ(board.merit()[0], 0.5);
  board.update(0, 1.0);
  EXPECT_DOUBLE_EQ(board.merit()[0], 0.75);
  board.update(0, 0.0);
  EXPECT_DOUBLE_EQ(board.merit()[0], 0.375);
  EXPECT_DOUBLE_EQ(board.mean_reward()[0], 2.0 / 3.0);
  board.update(1, 7.0);  // clamped to 1
  EXPECT_DOUBLE_EQ(board.mean_reward()[1], 1.0);
  board.set_momentum(0.0);
  board.update(1, 0.25);
  EXPECT_DOUBLE_EQ(board.merit()[1], 0.25);
  EXPECT_EQ(board.pulls(), (std::vector<int64_t>{3, 2, 0}));
}

void expect_centred_bias(const MeritBoard& board, const torch::Tensor& avail) {
  auto bias = board.routing_bias(avail);
  ASSERT_EQ(bias.sizes(), (std::vector<int64_t>{board.arms()}));
  EXPECT_TRUE(torch::isfinite(bias).all().item<bool>());
  for (int64_t i = 0; i < board.arms(); ++i) {
    if (!avail[i].item<bool>()) {
      EXPECT_EQ(bias[i].item<float>(), 0.0f) << "arm " << i;
    }
  }
  const double sum = bias.masked_select(avail).sum().item<double>();
  EXPECT_NEAR(sum, 0.0, 1e-5) << "sum over available arms " << sum;
  EXPECT_GT(bias.abs().max().item<double>(), 0.0) << "bias is all zero";
}

TEST(MeritBoard, RoutingBiasIsZeroOffAvailableAndCentred) {
  auto avail = torch::tensor({1, 1, 0, 1, 0}, torch::kBool);
  for (const std::string kind : {"ucb", "exp3", "none"}) {
    SCOPED_TRACE(kind);
    MeritBoard board(5, bandit(kind), /*seed=*/5);
    play(board, 300, /*seed=*/44);
    expect_centred_bias(board, avail);
    // Arms that earn more get more bias than the worst arm (after enough pulls).
    if (kind != "ucb") {
      auto bias = board.routing_bias(torch::ones({5}, torch::kBool));
      EXPECT_GT(bias[kBest].item<float>(), bias[0].item<float>());
    }
  }
}

TEST(MeritBoard, UnplayedUcbArmsGetTheLargestBias) {
  MeritBoard board(4, bandit("ucb"));
  board.update(0, 1.0);
  board.update(1, 0.0);
  auto avail = torch::ones({4}, torch::kBool);
  auto bias = board.routing_bias(avail);
  EXPECT_TRUE(torch::isfinite(bias).all().item<bool>());
  EXPECT_GT(bias[2].item<float>(), bias[0].item<float>());
  EXPECT_GT(bias[3].item<float>(), bias[0].item<float>());
  expect_centred_bias(board, avail);
}

TEST(MeritBoard, NoBanditAndNoMeritGivesZeroBias) {
  MeritBoard board(3, bandit("none"));
  EXPECT_TRUE(torch::equal(board.routing_bias(torch::ones({3}, torch::kBool)), torch::zeros({3})));
}

TEST(MeritBoard, RejectsBadArmsAndConfig) {
  MeritBoard board(3, bandit("ucb"));
  auto msg = elarin::test::error_message<elarin::UsageError>([&] { board.update(3, 1.0); });
  EXPECT_NE(msg.find("arm 3"), std::string::npos) << msg;
  EXPECT_THROW(board.update(-1, 1.0), elarin::UsageError);
  msg =
      elarin::test::error_message<elarin::UsageError>([] { MeritBoard b(3, bandit("thompson")); });
  EXPECT_NE(msg.find("merit.bandit: got 'thompson'"), std::string::npos) << msg;
  auto cfg = bandit("exp3");
  cfg.exp3_gamma = 0;
  msg = elarin::test::error_message<elarin::UsageError>([&] { MeritBoard b(3, cfg); });
  EXPECT_NE(msg.find("merit.exp3_gamma"), std::string::npos) << msg;
  cfg = bandit("none");
  cfg.momentum = 1.0;
  msg = elarin::test::error_message<elarin::UsageError>([&] { MeritBoard b(3, cfg); });
  EXPECT_NE(msg.find("merit.momentum"), std::string::npos) << msg;
  EXPECT_THROW(MeritBoard(0, bandit("ucb")), elarin::UsageError);
}

// Regression: the arm count is checked before any vector is sized (a negative count used to
// throw std::length_error instead of a UsageError naming `arms`).
TEST(MeritBoard, NegativeArmCountIsAUsageError) {
  auto msg =
      elarin::test::error_message<elarin::UsageError>([] { MeritBoard b(-1, bandit("ucb")); });
  EXPECT_NE(msg.find("arms must be >= 1, got -1"), std::string::npos) << msg;
}

}  // namespace
