// The fused CPU kernels against their reference compositions, forward and gradients:
// RoPE + causal attention (MHA, GQA, with biases), RMSNorm, the SwiGLU gate; and the
// data-parallel helpers (row split, gradient sum = the full batch's gradient).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/models/elara/elara_model.hpp"
#include "elarin/nn/data_parallel.hpp"
#include "elarin/nn/rms_norm.hpp"
#include "elarin/nn/swiglu.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::test::max_abs_diff;

// Runs f on a leaf copy of x; returns (output, d(sum(output * probe))/dx).
template <class F>
std::pair<torch::Tensor, torch::Tensor> value_and_grad(F f, const torch::Tensor& x,
                                                       const torch::Tensor& probe) {
  auto xl = x.detach().clone().requires_grad_(true);
  auto y = f(xl);
  (y * probe).sum().backward();
  return {y.detach(), xl.grad().detach()};
}

// Gradients of every parameter of m after backward, by name.
std::map<std::string, torch::Tensor> grads_of(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> g;
  for (auto& p : m.named_parameters(true)) {
    g[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor();
    p.value().mutable_grad().reset();
  }
  return g;
}

void expect_attention_matches_reference(int64_t n_head, int64_t n_kv_head, bool bias) {
  elarin::models::ElaraConfig c;
  c.n_embd = 32;
  c.n_head = n_head;
  c.n_kv_head = n_kv_head;
  c.bias = bias;
  c.block_size = 24;
  torch::manual_seed(11);
  elarin::models::ElaraAttention attn(c);
  if (bias) {
    torch::NoGradGuard g;
    for (auto& p : attn->parameters())
      if (p.dim() == 1) p.uniform_(-0.5, 0.5);
  }
  auto x = torch::randn({3, 17, 32});
  auto probe = torch::randn({3, 17, 32});
  auto fused = value_and_grad([&](const torch::Tensor& t) { return attn->forward(t, 0); }, x,
                              probe);
  auto g_fused = grads_of(*attn);
  auto ref = value_and_grad([&](const torch::Tensor& t) { return attn->reference(t, 0); }, x,
                            probe);
  auto g_ref = grads_of(*attn);
  EXPECT_LT(max_abs_diff(fused.first, ref.first), 1e-5) << "output";
  EXPECT_LT(max_abs_diff(fused.second, ref.second), 1e-5) << "d input";
  ASSERT_EQ(g_fused.size(), g_ref.size());
  for (const auto& [name, g] : g_ref) {
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_LT(max_abs_diff(g_fused[name], g), 1e-5) << name;
  }
  // and it is causal: the output at t does not move when a later input changes
  auto x2 = x.clone();
  x2.narrow(1, 10, 7).add_(1.0);
  torch::NoGradGuard ng;
  EXPECT_EQ(max_abs_diff(attn->forward(x, 0).narrow(1, 0, 10),
                         attn->forward(x2, 0).narrow(1, 0, 10)),
            0.0);
}

TEST(FusedCausalAttention, MatchesTheReferenceMultiHead) {
  expect_attention_matches_reference(4, 4, false);
}

TEST(FusedCausalAttention, MatchesTheReferenceGroupedQuery) {
  expect_attention_matches_reference(4, 2, false);
  expect_attention_matches_reference(4, 1, true);
}

TEST(FusedRMSNorm, MatchesTheReferenceWithGradients) {
  torch::manual_seed(12);
  elarin::nn::RMSNorm norm(48, 1e-5);
  {
    torch::NoGradGuard g;
    norm->weight.uniform_(0.5, 1.5);
  }
  auto x = torch::randn({5, 7, 48}) * 3;
  auto probe = torch::randn({5, 7, 48});
  auto fused = value_and_grad([&](const torch::Tensor& t) { return norm(t); }, x, probe);
  auto gw_fused = norm->weight.grad().clone();
  norm->weight.mutable_grad().reset();
  auto ref = value_and_grad([&](const torch::Tensor& t) { return norm->reference(t); }, x, probe);
  auto gw_ref = norm->weight.grad().clone();
  EXPECT_LT(max_abs_diff(fused.first, ref.first), 1e-5);
  EXPECT_LT(max_abs_diff(fused.second, ref.second), 1e-5);
  EXPECT_LT(max_abs_diff(gw_fused, gw_ref), 1e-4);  // a sum over 35 rows
  // Without gradients the kernel runs alone (no autograd node): the same values, bit for bit.
  torch::Tensor plain;
  {
    torch::NoGradGuard g;
    plain = norm(x);
  }
  EXPECT_FALSE(plain.requires_grad());
  EXPECT_TRUE(torch::equal(plain, fused.first));
}

TEST(FusedSwiGLU, MatchesTheReferenceWithGradients) {
  torch::manual_seed(13);
  elarin::nn::SwiGLU mlp(24, 40, /*bias=*/true);
  auto x = torch::randn({6, 9, 24});
  auto probe = torch::randn({6, 9, 24});
  auto fused = value_and_grad([&](const torch::Tensor& t) { return mlp(t); }, x, probe);
  auto g_fused = grads_of(*mlp);
  auto ref = value_and_grad([&](const torch::Tensor& t) { return mlp->reference(t); }, x, probe);
  auto g_ref = grads_of(*mlp);
  EXPECT_LT(max_abs_diff(fused.first, ref.first), 1e-5);
  EXPECT_LT(max_abs_diff(fused.second, ref.second), 1e-5);
  for (const auto& [name, g] : g_ref) EXPECT_LT(max_abs_diff(g_fused[name], g), 1e-5) << name;
  // the gate alone: silu(a) * b
  auto gu = torch::randn({4, 10});
  EXPECT_LT(max_abs_diff(elarin::nn::swiglu_gate(gu),
                         torch::silu(gu.narrow(1, 0, 5)) * gu.narrow(1, 5, 5)),
            1e-6);
}

TEST(DataParallel, SplitRowsCoversEveryRowOnce) {
  auto s = elarin::nn::split_rows(12, 5);
  ASSERT_EQ(s.size(), 5u);
  int64_t next = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(s[i].begin, next);
    EXPECT_TRUE(s[i].size == 2 || s[i].size == 3) << s[i].size;
    next += s[i].size;
  }
  EXPECT_EQ(next, 12);
  EXPECT_EQ(elarin::nn::split_rows(2, 8).size(), 2u);  // never an empty shard
  EXPECT_THROW(elarin::nn::split_rows(0, 2), c10::Error);
}

TEST(DataParallel, ShardGradientsSumToTheFullBatchGradient) {
  elarin::models::ElaraConfig c;
  c.vocab_size = 19;
  c.n_embd = 32;
  c.n_layer = 2;
  c.block_size = 16;
  torch::manual_seed(14);
  elarin::models::ElaraModel lm(c);
  auto x = torch::randint(0, 19, {6, 16}), y = torch::randint(0, 19, {6, 16});
  auto loss_of = [&](const torch::Tensor& xs, const torch::Tensor& ys) {
    auto logits = lm->forward(xs).logits;
    return torch::nn::functional::cross_entropy(logits.reshape({-1, 19}), ys.reshape(-1));
  };
  loss_of(x, y).backward();
  auto full = grads_of(*lm);
  const auto params = lm->parameters();
  const auto shards = elarin::nn::split_rows(6, 3);
  std::vector<std::vector<torch::Tensor>> grads(shards.size());
  elarin::nn::run_shards(shards, [&](const elarin::nn::Shard& s) {
    auto loss = loss_of(x.narrow(0, s.begin, s.size), y.narrow(0, s.begin, s.size)) *
                (static_cast<double>(s.size) / 6.0);
    grads[static_cast<size_t>(s.index)] =
        torch::autograd::grad({loss}, params, {}, false, false, true);
  });
  elarin::nn::accumulate_grads(params, grads);
  auto sharded = grads_of(*lm);
  for (const auto& [name, g] : full) EXPECT_LT(max_abs_diff(sharded[name], g), 1e-5) << name;
  // a second accumulation adds on top (gradient accumulation), it does not replace
  elarin::nn::accumulate_grads(params, grads);
  elarin::nn::accumulate_grads(params, grads);
  auto twice = grads_of(*lm);
  for (const auto& [name, g] : full) EXPECT_LT(max_abs_diff(twice[name], 2 * g), 2e-5) << name;
}

}  // namespace
