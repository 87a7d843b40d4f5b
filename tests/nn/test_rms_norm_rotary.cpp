// RMSNorm against its formula; RoPE against HF's rotate_half convention and its relative-
// position property; SwiGLU against its formula.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <thread>
#include <vector>

#include "elarin/nn/rms_norm.hpp"
#include "elarin/nn/rotary.hpp"
#include "elarin/nn/swiglu.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::test::max_abs_diff;

TEST(RMSNorm, MatchesTheFormula) {
  torch::manual_seed(0);
  elarin::nn::RMSNorm norm(8, 1e-5);
  {
    torch::NoGradGuard g;
    norm->weight.uniform_(0.5, 1.5);
  }
  auto x = torch::randn({3, 5, 8}) * 4;
  auto ref = x / torch::sqrt(x.pow(2).mean(-1, true) + 1e-5) * norm->weight;
  const double d = max_abs_diff(norm(x), ref);
  EXPECT_LT(d, 1e-5) << "max diff " << d;
}

TEST(Rotary, MatchesHfRotateHalfAtAPosition) {
  torch::manual_seed(1);
  const int64_t D = 8;
  elarin::nn::Rotary rope(D, 10000.0);
  auto q = torch::randn({1, 1, 1, D});
  auto k = torch::randn({1, 1, 1, D});
  auto [q2, k2] = rope.apply(q, k, /*offset=*/7);
  // HF: cos/sin of pos * inv_freq, the half repeated; out = x cos + rotate_half(x) sin.
  auto inv = 1.0 / torch::pow(10000.0, torch::arange(0, D, 2).to(torch::kDouble) / double(D));
  auto ang = torch::cat({inv, inv}) * 7.0;
  auto cos = ang.cos().to(torch::kFloat), sin = ang.sin().to(torch::kFloat);
  auto rot = torch::cat({-q.narrow(-1, D / 2, D / 2), q.narrow(-1, 0, D / 2)}, -1);
  const double d = max_abs_diff(q2, q * cos + rot * sin);
  EXPECT_LT(d, 1e-6) << "max diff " << d;
}

TEST(Rotary, ScoresDependOnlyOnRelativePosition) {
  torch::manual_seed(2);
  elarin::nn::Rotary rope(16);
  auto q = torch::randn({1, 1, 1, 16});
  auto k = torch::randn({1, 1, 1, 16});
  auto score = [&](int64_t qm, int64_t kn) {
    auto qr = rope.apply(q, q, qm).first;
    auto kr = rope.apply(k, k, kn).first;
    return (qr * kr).sum().item<double>();
  };
  EXPECT_NEAR(score(3, 1), score(40, 38), 1e-4);
  EXPECT_NEAR(score(0, 0), (q * k).sum().item<double>(), 1e-5);  // position 0: identity
  EXPECT_GT(std::abs(score(3, 1) - score(3, 2)), 1e-3);          // and it does rotate
}

// Data-parallel shards call one model's rotary tables from several threads at once, on the
// first step while the tables still grow: every thread gets the right tables, none throws.
TEST(Rotary, TablesAreSafeToGrowFromManyThreads) {
  elarin::nn::Rotary reference(16);
  const auto [ref_cos, ref_sin] = reference.tables(0, 2048, torch::kCPU);
  for (int round = 0; round < 50; ++round) {
    elarin::nn::Rotary rope(16);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        try {
          for (int64_t len : {64, 300, 700, 2048 - 64 * t}) {  // forces growth while others read
            const auto [cos, sin] = rope.tables(64, len - 64, torch::kCPU);
            if (!torch::equal(cos, ref_cos.narrow(0, 64, len - 64)) ||
                !torch::equal(sin, ref_sin.narrow(0, 64, len - 64)))
              ++wrong;
          }
        } catch (const std::exception&) {
          ++wrong;
        }
      });
    for (auto& th : threads) th.join();
    ASSERT_EQ(wrong.load(), 0) << "round " << round;
  }
}

TEST(SwiGLU, MatchesTheFormula) {
  torch::manual_seed(3);
  elarin::nn::SwiGLU mlp(6, 10);
  auto x = torch::randn({4, 6});
  auto g = torch::matmul(x, mlp->gate_proj->weight.t());
  auto u = torch::matmul(x, mlp->up_proj->weight.t());
  auto ref = torch::matmul(g * torch::sigmoid(g) * u, mlp->down_proj->weight.t());
  const double d = max_abs_diff(mlp(x), ref);
  EXPECT_LT(d, 1e-6) << "max diff " << d;
}

}  // namespace
