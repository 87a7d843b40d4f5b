// The Elara LM: causality, KV-cache decoding = full forward, recursion = a stack of shared
// blocks, one top-1 expert = a dense SwiGLU, grouped-query attention = MHA with repeated
// key/value heads, active-parameter count, config errors naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "elarin/core/config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "nn/nn_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::models::ElaraConfig;
using elarin::models::ElaraKVCache;
using elarin::models::ElaraModel;
using elarin::test::max_abs_diff;

ElaraConfig tiny(bool moe, int64_t recursion = 1) {
  ElaraConfig c;
  c.block_size = 32;
  c.vocab_size = 23;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.n_embd = 16;
  c.recursion_depth = recursion;
  if (moe) {
    c.expert_count = 4;
    c.moe_top_k = 2;
    c.shared_expert_count = 1;
    c.moe_every = 2;
    c.expert_hidden = 12;
  }
  return c;
}

// Copies every parameter of `from` into the same-named parameter of `to`.
void copy_named(const torch::nn::Module& from, torch::nn::Module& to,
                const std::function<std::string(const std::string&)>& rename) {
  torch::NoGradGuard g;
  auto dst = to.named_parameters(true);
  for (const auto& item : from.named_parameters(true)) dst[rename(item.key())].copy_(item.value());
}

TEST(ElaraModel, FutureTokensCannotChangePastLogits) {
  for (bool moe : {false, true}) {
    torch::manual_seed(0);
    ElaraModel lm(tiny(moe, 2));
    lm->eval();
    auto ids = torch::randint(0, 23, {2, 16});
    auto ids2 = ids.clone();
    ids2.narrow(1, 10, 6).random_(0, 23);
    ASSERT_FALSE(torch::equal(ids, ids2));
    auto a = lm->forward(ids).logits, b = lm->forward(ids2).logits;
    const double past = max_abs_diff(a.narrow(1, 0, 10), b.narrow(1, 0, 10));
    EXPECT_LT(past, 1e-6) << "moe " << moe << ": past logits moved by " << past;
    EXPECT_GT(max_abs_diff(a.narrow(1, 10, 6), b.narrow(1, 10, 6)), 1e-4) << "moe " << moe;
  }
}

TEST(ElaraModel, KVCacheDecodingEqualsTheFullForward) {
  for (bool moe : {false, true}) {
    torch::manual_seed(1);
    ElaraModel lm(tiny(moe, 2));
    lm->eval();
    torch::NoGradGuard g;
    auto ids = torch::randint(0, 23, {2, 12});
    auto full = lm->forward(ids).logits;  // (2, 12, V)
    ElaraKVCache cache;
    std::vector<torch::Tensor> parts = {lm->forward(ids.narrow(1, 0, 5), &cache).logits};
    for (int64_t t = 5; t < 12; ++t)
      parts.push_back(lm->forward(ids.narrow(1, t, 1), &cache).logits);
    EXPECT_EQ(cache.length(), 12);
    const double d = max_abs_diff(torch::cat(parts, 1), full);
    EXPECT_LT(d, 1e-5) << "moe " << moe << ": cached decoding differs by " << d;
  }
}

TEST(ElaraModel, RecursionEqualsAStackOfRepeatedBlocks) {
  torch::manual_seed(2);
  ElaraModel rec(tiny(false, 2));  // 2 blocks, each applied twice
  auto plain_cfg = tiny(false, 1);
  plain_cfg.n_layer = 4;
  ElaraModel plain(plain_cfg);  // 4 blocks: copies of [L0, L0, L1, L1]
  for (int64_t dup = 0; dup < 2; ++dup)
    copy_named(*rec, *plain, [dup](const std::string& n) {
      const std::string p = "layers.";
      if (n.rfind(p, 0) != 0) return n;
      const auto dot = n.find('.', p.size());
      const int64_t i = std::stoll(n.substr(p.size(), dot - p.size()));
      return p + std::to_string(2 * i + dup) + n.substr(dot);
    });
  rec->eval();
  plain->eval();
  auto ids = torch::randint(0, 23, {2, 9});
  const double d = max_abs_diff(rec->forward(ids).logits, plain->forward(ids).logits);
  EXPECT_LT(d, 1e-5) << "max diff " << d;
  // And depth 1 is not depth 2: the recursion really re-applies the blocks.
  ElaraModel once(tiny(false, 1));
  copy_named(*rec, *once, [](const std::string& n) { return n; });
  once->eval();
  EXPECT_GT(max_abs_diff(once->forward(ids).logits, rec->forward(ids).logits), 1e-4);
}

TEST(ElaraModel, OneTopOneExpertEqualsADenseSwiGLU) {
  torch::manual_seed(3);
  auto cfg = tiny(true);
  cfg.expert_count = 1;
  cfg.moe_top_k = 1;
  cfg.shared_expert_count = 0;
  cfg.expert_hidden = 0;  // = ffn_width, the dense layer's width
  cfg.moe_every = 1;      // every layer MoE
  ElaraModel moe(cfg);
  auto dense_cfg = cfg;
  dense_cfg.expert_count = 0;
  ElaraModel dense(dense_cfg);
  copy_named(*dense, *moe, [](const std::string& n) {
    const auto at = n.find(".mlp.");
    return at == std::string::npos ? n : n.substr(0, at) + ".moe.routed.0." + n.substr(at + 5);
  });
  moe->eval();
  dense->eval();
  auto ids = torch::randint(0, 23, {2, 7});
  const double d = max_abs_diff(moe->forward(ids).logits, dense->forward(ids).logits);
  EXPECT_LT(d, 1e-5) << "max diff " << d;
}

TEST(ElaraModel, GroupedQueryAttentionEqualsRepeatedKeyValueHeads) {
  torch::manual_seed(4);
  auto gqa_cfg = tiny(false);
  gqa_cfg.n_kv_head = 2;  // 4 query heads share 2 key/value heads: heads 0,1 -> 0; 2,3 -> 1
  auto mha_cfg = gqa_cfg;
  mha_cfg.n_kv_head = 4;
  ElaraModel gqa(gqa_cfg), mha(mha_cfg);
  const int64_t D = gqa_cfg.head_dim(), C = gqa_cfg.n_embd;
  {
    torch::NoGradGuard g;
    auto dst = mha->named_parameters(true);
    for (const auto& item : gqa->named_parameters(true)) {
      const auto& n = item.key();
      if (n.find("k_proj") != std::string::npos || n.find("v_proj") != std::string::npos)
        dst[n].copy_(item.value().view({2, D, C}).repeat_interleave(2, 0).view({4 * D, C}));
      else
        dst[n].copy_(item.value());
    }
  }
  gqa->eval();
  mha->eval();
  auto ids = torch::randint(0, 23, {2, 10});
  const double d = max_abs_diff(gqa->forward(ids).logits, mha->forward(ids).logits);
  EXPECT_LT(d, 1e-5) << "max diff " << d;
}

TEST(ElaraModel, ActiveParametersCountSharedAndTopKExperts) {
  torch::manual_seed(5);
  auto cfg = tiny(true);
  ElaraModel lm(cfg);
  ElaraModel dense(tiny(false));
  // One MoE layer (layer 1): 4 routed + 1 shared swiglu experts of width 12 and a gate.
  const int64_t expert = 3 * 16 * 12;
  const int64_t dense_ffn = 3 * 16 * cfg.ffn_width();
  const int64_t gate = 16 * 4 + 4;
  EXPECT_EQ(lm->parameter_count(), dense->parameter_count() - dense_ffn + 5 * expert + gate);
  EXPECT_EQ(lm->active_parameter_count(), lm->parameter_count() - 2 * expert);
}

TEST(ElaraModel, CountingWithoutBuildingMatchesTheBuiltModel) {
  // Dense; MoE with recursion; untied head + diffusion head + GQA + a dense_layers exception.
  auto moe = tiny(true);
  moe.recursion_depth = 2;
  auto other = tiny(true);
  other.n_layer = 4;
  other.dense_layers = {3};
  other.tie_embeddings = false;
  other.use_diffusion_head = true;
  other.draft_len = 2;
  other.n_kv_head = 2;
  for (const auto& cfg : {tiny(false), moe, other}) {
    ElaraModel lm(cfg);
    const auto [total, active] = elarin::models::ElaraModelImpl::count_parameters(cfg);
    EXPECT_EQ(total, lm->parameter_count());
    EXPECT_EQ(active, lm->active_parameter_count());
  }
}

TEST(ElaraConfig, ValidateNamesTheKey) {
  auto expect = [](ElaraConfig c, const std::string& key) {
    try {
      c.validate();
      ADD_FAILURE() << "no error for " << key;
    } catch (const elarin::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("lm.model." + key), std::string::npos) << e.what();
    }
  };
  ElaraConfig c;
  c.n_embd = 130;  // not a multiple of 4 heads
  expect(c, "n_embd");
  c = ElaraConfig();
  c.n_kv_head = 3;
  expect(c, "n_kv_head");
  c = ElaraConfig();
  c.expert_count = 4;
  c.moe_top_k = 5;
  expect(c, "moe_top_k");
  c = ElaraConfig();
  c.recursion_depth = 0;
  expect(c, "recursion_depth");
  c = ElaraConfig();
  c.head_size = 7;  // RoPE rotates pairs
  expect(c, "head_size");
  c = ElaraConfig();
  c.rope_scaling.type = "yarn";
  expect(c, "rope_scaling.type");
  c = ElaraConfig();
  c.rope_scaling.type = "llama3";
  c.rope_scaling.high_freq_factor = 0.5;  // must exceed low_freq_factor (1)
  expect(c, "rope_scaling.high_freq_factor");
  c = ElaraConfig();
  c.n_embd = 130;  // not a multiple of 4 heads, but the heads have their own width
  c.head_size = 16;
  EXPECT_NO_THROW(c.validate());
}

// A Qwen3 / Llama 3 style model (heads wider than n_embd / n_head, q/k norms, q/k/v/o biases,
// llama3 RoPE scaling) stored as a checkpoint stores its config (lm.model.* as JSON) and
// rebuilt from that JSON alone computes the same logits; with the scaling dropped it does not.
TEST(ElaraConfig, ScaledRopeAndQwen3HeadsSurviveTheStoredConfig) {
  auto cfg = tiny(false);
  cfg.head_size = 8;  // 4 heads x 8 = 32 != n_embd 16
  cfg.qk_norm = true;
  cfg.attention_bias = true;
  cfg.rope_scaling.type = "llama3";
  cfg.rope_scaling.factor = 4;
  cfg.rope_scaling.low_freq_factor = 1;
  cfg.rope_scaling.high_freq_factor = 8;
  cfg.rope_scaling.original_max_position_embeddings = 64;
  elarin::Config saved;
  saved.add("lm.model", cfg);
  const std::string json = saved.to_json().dump();
  EXPECT_NE(json.find(R"("rope_scaling":{"factor":4.0,"high_freq_factor":8.0)"), std::string::npos)
      << json;
  ElaraConfig back;
  elarin::Config loaded;
  loaded.add("lm.model", back);
  loaded.load_string(json, "stored config");
  EXPECT_EQ(back.head_size, 8);
  EXPECT_TRUE(back.qk_norm && back.attention_bias);
  EXPECT_EQ(back.rope_scaling.type, "llama3");
  EXPECT_EQ(back.rope_scaling.original_max_position_embeddings, 64);

  torch::manual_seed(8);
  ElaraModel lm(cfg), again(back);
  copy_named(*lm, *again, [](const std::string& n) { return n; });
  lm->eval();
  again->eval();
  torch::NoGradGuard g;
  for (auto& p : lm->named_parameters())  // norm gains and biases away from 1 and 0
    if (p.key().find("norm") != std::string::npos || p.key().find("bias") != std::string::npos)
      p.value().add_(0.2 * torch::randn_like(p.value()));
  copy_named(*lm, *again, [](const std::string& n) { return n; });
  EXPECT_EQ(lm->named_parameters()["layers.0.self_attn.o_proj.bias"].numel(), 16);
  EXPECT_EQ(lm->named_parameters()["layers.0.self_attn.q_norm.weight"].numel(), 8);
  auto ids = torch::randint(0, 23, {2, 30});
  const double d = max_abs_diff(lm->forward(ids).logits, again->forward(ids).logits);
  std::printf("  reloaded config: max logit diff %.3e (tol 0)\n", d);
  EXPECT_EQ(d, 0.0);
  auto plain_cfg = back;
  plain_cfg.rope_scaling = elarin::nn::RopeScaling();
  ElaraModel plain(plain_cfg);
  copy_named(*lm, *plain, [](const std::string& n) { return n; });
  plain->eval();
  EXPECT_GT(max_abs_diff(lm->forward(ids).logits, plain->forward(ids).logits), 1e-4);
}

// The fused training path (q/k norms applied to the fused projection) and the reference path
// agree, forward and backward, on Qwen3-style heads.
TEST(ElaraModel, Qwen3HeadsFusedPathEqualsReferenceWithGradients) {
  auto cfg = tiny(false);
  cfg.head_size = 6;
  cfg.qk_norm = true;
  torch::manual_seed(9);
  ElaraModel lm(cfg);
  auto& attn = lm->layers->ptr<elarin::models::ElaraBlockImpl>(0)->self_attn;
  {
    torch::NoGradGuard g;
    attn->q_norm->weight.add_(0.3 * torch::randn({6}));
    attn->k_norm->weight.add_(0.3 * torch::randn({6}));
  }
  auto x = torch::randn({2, 9, 16});
  auto fused = attn->forward(x, 0);
  auto grads = [&](const torch::Tensor& y) {
    lm->zero_grad();
    (y * torch::cos(y)).sum().backward();
    return std::vector<torch::Tensor>{attn->q_proj->weight.grad().clone(),
                                      attn->q_norm->weight.grad().clone(),
                                      attn->k_norm->weight.grad().clone()};
  };
  auto g_fused = grads(fused);
  auto ref = attn->reference(x, 0);
  auto g_ref = grads(ref);
  EXPECT_LT(max_abs_diff(fused, ref), 1e-5) << "max diff " << max_abs_diff(fused, ref);
  for (size_t i = 0; i < g_ref.size(); ++i)
    EXPECT_LT(max_abs_diff(g_fused[i], g_ref[i]), 1e-4) << "gradient " << i;
  EXPECT_GT(g_ref[1].abs().max().item<double>(), 1e-4);  // the norms are trained
}

}  // namespace
