// FusedAdamW against LibTorch's AdamW on the same parameters and gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/nn/fused_adamw.hpp"

TEST(FusedAdamW, MatchesTorchAdamWAndSkipsUndefinedGrads) {
  torch::manual_seed(0);
  auto a = torch::randn({300, 70}, torch::requires_grad());
  auto b = torch::randn({5}, torch::requires_grad());  // gets a grad only on even steps
  auto a2 = a.detach().clone().requires_grad_(true);
  auto b2 = b.detach().clone().requires_grad_(true);
  torch::optim::AdamW ref({a, b}, torch::optim::AdamWOptions(3e-3).weight_decay(0.05));
  elarin::nn::FusedAdamW fused({a2, b2}, {3e-3, 0.9, 0.999, 1e-8, 0.05});
  for (int s = 0; s < 6; ++s) {
    auto ga = torch::randn({300, 70});
    auto gb = torch::randn({5});
    for (auto* p : {&a, &b, &a2, &b2}) p->mutable_grad().reset();
    a.mutable_grad() = ga.clone();
    a2.mutable_grad() = ga.clone();
    if (s % 2 == 0) {
      b.mutable_grad() = gb.clone();
      b2.mutable_grad() = gb.clone();
    }
    ref.step();
    fused.step();
  }
  const double da = (a - a2).abs().max().item<double>();
  const double db = (b - b2).abs().max().item<double>();
  std::printf("max |torch - fused|: a %.3g, b %.3g\n", da, db);
  EXPECT_LT(da, 1e-6);
  EXPECT_LT(db, 1e-6);
  EXPECT_EQ(fused.step_count(0), 6);
  EXPECT_EQ(fused.step_count(1), 3) << "steps without a grad are skipped";
}

TEST(FusedAdamW, NonContiguousAndDoubleFallBackToTensorOps) {
  torch::manual_seed(1);
  auto p = torch::randn({6, 4}, torch::kDouble).requires_grad_(true);
  auto p2 = p.detach().clone().requires_grad_(true);
  torch::optim::AdamW ref({p}, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  elarin::nn::FusedAdamW fused({p2}, {1e-2, 0.9, 0.999, 1e-8, 0.1});
  for (int s = 0; s < 3; ++s) {
    auto g = torch::randn({6, 4}, torch::kDouble);
    p.mutable_grad() = g.clone();
    p2.mutable_grad() = g.clone();
    ref.step();
    fused.step();
  }
  EXPECT_LT((p - p2).abs().max().item<double>(), 1e-12);
}
