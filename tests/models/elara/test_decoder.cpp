// The batch-1 decoding path computes what ElaraModel::forward computes: the prompt's logits,
// token-by-token continuation through the preallocated cache, mask blocks after a cached
// prefix, and truncation (drafts dropped, decoding continued), on a dense GQA model, an MoE
// model with recursion, one with biases, an untied head and the diffusion head, one past
// 64 keys with head_dim 32, and a Qwen3 / Llama 3 style one (head_size, q/k norms, llama3
// RoPE scaling); through the AVX-512 kernels and the portable ones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/core/runtime.hpp"
#include "elarin/models/elara/decoder.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::models::ElaraConfig;
using elarin::models::ElaraDecoder;
using elarin::models::ElaraModel;
using elarin::models::MaskBlocks;

ElaraConfig base() {
  ElaraConfig c;
  c.vocab_size = 29;
  c.block_size = 48;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.n_embd = 32;
  c.use_diffusion_head = true;
  c.draft_len = 3;
  return c;
}

std::vector<ElaraConfig> configs() {
  auto moe = base();
  moe.expert_count = 4;
  moe.moe_top_k = 2;
  moe.moe_every = 1;
  moe.expert_hidden = 24;
  moe.recursion_depth = 2;
  auto biased = base();
  biased.bias = true;
  biased.tie_embeddings = false;
  biased.n_kv_head = 1;
  auto longer = base();  // head_dim 32, more than 64 keys
  longer.block_size = 96;
  longer.n_embd = 64;
  longer.n_head = 2;
  longer.n_kv_head = 2;
  auto qwen3 = base();  // heads wider than n_embd / n_head, q/k norms, biases, llama3 RoPE
  qwen3.head_size = 12;
  qwen3.qk_norm = true;
  qwen3.attention_bias = true;
  qwen3.rope_scaling.type = "llama3";
  qwen3.rope_scaling.factor = 4;
  qwen3.rope_scaling.high_freq_factor = 8;
  qwen3.rope_scaling.original_max_position_embeddings = 64;
  return {base(), moe, biased, longer, qwen3};
}

std::vector<int64_t> ids_of(const torch::Tensor& t) {
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

// Every config, through whichever kernels are on (AVX-512 or portable): a prompt, steps, a
// pass with mask blocks, then truncation. `e` extra leading tokens put the pass past 64 keys
// (a second chunk of the vector attention) on the long config.
void expect_matches_the_models_forward() {
  torch::manual_seed(31);
  for (const auto& cfg : configs()) {
    ElaraModel lm(cfg);
    lm->eval();
    torch::NoGradGuard g;
    // Biases start at zero and norm gains at one: move them so a dropped one shows.
    for (auto& p : lm->named_parameters()) {
      if (p.key().find("bias") != std::string::npos) p.value().normal_(0, 0.1);
      if (p.key().find("_norm.weight") != std::string::npos) p.value().normal_(1, 0.2);
    }
    const int64_t e = cfg.block_size > 64 ? 60 : 0;
    auto seq = torch::randint(0, cfg.vocab_size, {1, e + 20});
    auto full = lm->forward(seq).logits[0];  // (e + 20, V)
    const double tol = cfg.expert_count > 0 ? 1e-4 : 1e-5;  // MoE: per-expert batches round
    ElaraDecoder dec(lm);
    auto prompt = dec.forward(ids_of(seq.narrow(1, 0, e + 12)));
    EXPECT_LT(elarin::test::max_abs_diff(prompt.logits, full.narrow(0, 0, e + 12)), tol);
    for (int64_t t = e + 12; t < e + 16; ++t) {
      auto step = dec.forward({seq[0][t].item<int64_t>()});
      EXPECT_LT(elarin::test::max_abs_diff(step.logits[0], full[t]), tol) << "position " << t;
    }
    EXPECT_EQ(dec.length(), e + 16);
    // A pass of 3 tokens and mask blocks after 1 and 3 of them = the model's own forward.
    MaskBlocks blocks;
    blocks.len = 3;
    blocks.prefix = {1, 3};
    auto pass = dec.forward(ids_of(seq.narrow(1, e + 16, 3)), &blocks);
    MaskBlocks whole = blocks;  // the same blocks counted from the sequence's start
    whole.prefix = {e + 17, e + 19};
    auto ref = lm->forward(seq.narrow(1, 0, e + 19), nullptr, false, &whole);
    EXPECT_LT(elarin::test::max_abs_diff(pass.logits, ref.logits[0].narrow(0, e + 16, 3)), tol);
    EXPECT_LT(elarin::test::max_abs_diff(pass.draft_logits, ref.draft_logits[0]), tol);
    // Keep one of the three tokens, then continue: as if the others were never fed.
    dec.truncate(e + 17);
    auto next = dec.forward({seq[0][e + 17].item<int64_t>(), seq[0][e + 18].item<int64_t>()});
    EXPECT_LT(elarin::test::max_abs_diff(next.logits, full.narrow(0, e + 17, 2)), tol);
  }
}

TEST(ElaraDecoder, MatchesTheModelsForward) { expect_matches_the_models_forward(); }

// The portable loops (CPUs without AVX-512F) against the same references, here too.
TEST(ElaraDecoder, PortableKernelsMatchTheModelsForward) {
  elarin::set_avx512_kernels(false);
  expect_matches_the_models_forward();
  elarin::set_avx512_kernels(true);
}

// A long-context model starts with a small cache that doubles as positions come: decoding
// across the growth (250 cached, then one at a time past 256) equals the full forward.
TEST(ElaraDecoder, CacheGrowsPastItsFirstSlotsKeepingWhatItHolds) {
  auto cfg = base();
  cfg.block_size = 4096;
  cfg.use_diffusion_head = false;
  torch::manual_seed(12);
  ElaraModel lm(cfg);
  lm->eval();
  torch::NoGradGuard g;
  auto seq = torch::randint(0, cfg.vocab_size, {1, 262});
  auto full = lm->forward(seq).logits[0];  // (262, V)
  ElaraDecoder dec(lm);
  auto prompt = dec.forward(ids_of(seq.narrow(1, 0, 250)));
  double worst = elarin::test::max_abs_diff(prompt.logits, full.narrow(0, 0, 250));
  for (int64_t t = 250; t < 262; ++t)
    worst = std::max(worst, elarin::test::max_abs_diff(
                                dec.forward({seq[0][t].item<int64_t>()}).logits[0], full[t]));
  std::printf("  decoding across the cache growth: max diff %.3e (tol 1e-5)\n", worst);
  EXPECT_LT(worst, 1e-5);
  EXPECT_EQ(dec.length(), 262);
}

TEST(ElaraDecoder, RefusesWhatItCannotRun) {
  auto cfg = base();
  ElaraModel lm(cfg);
  ElaraDecoder dec(lm);
  EXPECT_THROW(dec.forward({}), c10::Error);
  EXPECT_THROW(dec.forward({cfg.vocab_size}), c10::Error);                  // id out of range
  EXPECT_THROW(dec.forward(std::vector<int64_t>(49, 1)), c10::Error);       // past block_size
  EXPECT_EQ(dec.length(), 0);
  ElaraModel doubled(cfg);
  doubled->to(torch::kDouble);
  EXPECT_THROW(ElaraDecoder{doubled}, elarin::UsageError);
}

}  // namespace
