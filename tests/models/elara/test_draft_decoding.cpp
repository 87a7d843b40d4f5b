// The diffusion head and draft-and-verify decoding: mask blocks do not change the AR logits
// of the tokens; each block sees exactly its prefix (equal to a forward of that prefix and
// that block alone, with or without a KV cache); greedy draft-and-verify output equals AR greedy token
// for token, on a briefly trained tiny model (drafts mostly accepted) and on an untrained one
// (drafts mostly rejected); seeded sampling repeats itself; a model without the head is
// refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "elarin/models/elara/generate.hpp"
#include "elarin/models/elara/lm_trainer.hpp"
#include "elarin/nn/data_parallel.hpp"
#include "elarin/nn/fused_adamw.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::models::DraftStats;
using elarin::models::ElaraConfig;
using elarin::models::ElaraModel;
using elarin::models::GenerateOptions;
using elarin::models::MaskBlocks;

ElaraConfig draft_config() {
  ElaraConfig c;
  c.vocab_size = 11;
  c.block_size = 64;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  c.use_diffusion_head = true;
  c.draft_len = 3;
  return c;
}

// A sequence with period 7 over ids 0..6, starting at `phase`.
torch::Tensor periodic(int64_t length, int64_t phase) {
  return (torch::arange(length, torch::kLong) + phase).remainder(7);
}

// Trains the AR head and the diffusion head on the periodic sequence with train lm's step:
// every token for the AR loss, mask blocks after every draft_len + 1 tokens for the drafts.
void train_on_period(ElaraModel& lm, int steps) {
  elarin::nn::AdamWOptions o;
  o.lr = 3e-3;
  o.weight_decay = 0;
  elarin::nn::FusedAdamW opt(lm->parameters(), o);
  const int64_t T = 32, k = lm->config().draft_len;
  const auto params = lm->parameters();
  const auto shards = elarin::nn::split_rows(8, 1);
  for (int s = 0; s < steps; ++s) {
    std::vector<torch::Tensor> rows;
    for (int64_t b = 0; b < 8; ++b) rows.push_back(periodic(T + 1, (s * 8 + b) % 7));
    auto w = torch::stack(rows);
    auto x = w.narrow(1, 0, T).contiguous(), y = w.narrow(1, 1, T).contiguous();
    const auto blocks = elarin::models::lm_draft_blocks(T, k, 1 + s % (k + 1));
    elarin::models::lm_accumulate_step(lm, params, shards, x, y, &blocks, 0.0, 0.5, 1.0);
    opt.step();
    opt.zero_grad();
  }
}

TEST(DiffusionHead, TrainingBlocksCoverTheWindow) {
  // T = 16, draft_len 3: blocks of 3 masks one past prefixes 2, 6, 10 (the last at positions
  // 11..13; one after 14 tokens would reach position 18). From 4: the last block sits at
  // positions 13..15, the end of the window.
  const auto b = elarin::models::lm_draft_blocks(16, 3, 2);
  EXPECT_EQ(b.len, 3);
  EXPECT_EQ(b.ahead, 1);
  EXPECT_EQ(b.prefix, (std::vector<int64_t>{2, 6, 10}));
  EXPECT_EQ(elarin::models::lm_draft_blocks(16, 3, 4).prefix, (std::vector<int64_t>{4, 8, 12}));
}

TEST(DiffusionHead, EachBlockSeesExactlyItsPrefix) {
  torch::manual_seed(24);
  ElaraModel lm(draft_config());
  lm->eval();
  torch::NoGradGuard g;
  auto ids = torch::randint(0, 11, {1, 12});
  MaskBlocks all;
  all.len = 4;
  all.prefix = {3, 7, 12};
  auto together = lm->forward(ids, nullptr, false, &all);
  ASSERT_EQ(together.draft_logits.sizes(), (std::vector<int64_t>{1, 12, 11}));
  // A block's position matters (RoPE): ahead 0 puts the same masks one position earlier.
  MaskBlocks earlier = all;
  earlier.ahead = 0;
  EXPECT_GT(elarin::test::max_abs_diff(lm->forward(ids, nullptr, false, &earlier).draft_logits,
                                       together.draft_logits),
            1e-4);
  for (size_t b = 0; b < all.prefix.size(); ++b) {
    // The same block after its prefix alone: other blocks and later tokens are invisible.
    MaskBlocks one;
    one.len = 4;
    one.prefix = {all.prefix[b]};
    auto alone = lm->forward(ids.narrow(1, 0, all.prefix[b]), nullptr, false, &one);
    EXPECT_LT(elarin::test::max_abs_diff(alone.draft_logits,
                                         together.draft_logits.narrow(1, int64_t(b) * 4, 4)),
              1e-5)
        << "block " << b;
  }
  // With a KV cache: the first 5 tokens cached, the rest fed with blocks after 2 and 7 of them.
  elarin::models::ElaraKVCache cache;
  lm->forward(ids.narrow(1, 0, 5), &cache);
  MaskBlocks tail;
  tail.len = 4;
  tail.prefix = {2, 7};  // = prefixes 7 and 12 of the whole sequence
  auto cached = lm->forward(ids.narrow(1, 5, 7), &cache, false, &tail);
  EXPECT_LT(elarin::test::max_abs_diff(cached.logits, together.logits.narrow(1, 5, 7)), 1e-5);
  EXPECT_LT(elarin::test::max_abs_diff(cached.draft_logits, together.draft_logits.narrow(1, 4, 8)),
            1e-5);
}

TEST(DiffusionHead, MaskPositionsDoNotChangeTheTokensLogits) {
  torch::manual_seed(21);
  ElaraModel lm(draft_config());
  lm->eval();
  torch::NoGradGuard g;
  auto ids = torch::randint(0, 11, {2, 9});
  auto plain = lm->forward(ids);
  MaskBlocks blocks;
  blocks.len = 4;
  blocks.prefix = {9};
  auto masked = lm->forward(ids, nullptr, false, &blocks);
  ASSERT_EQ(masked.draft_logits.sizes(), (std::vector<int64_t>{2, 4, 11}));
  EXPECT_LT(elarin::test::max_abs_diff(plain.logits, masked.logits), 1e-5);
  // and the drafts do read the prefix
  auto ids2 = ids.clone();
  ids2[0][8] = (ids[0][8].item<int64_t>() + 1) % 11;
  auto other = lm->forward(ids2, nullptr, false, &blocks);
  EXPECT_GT(elarin::test::max_abs_diff(other.draft_logits[0], masked.draft_logits[0]), 1e-6);
  EXPECT_LT(elarin::test::max_abs_diff(other.draft_logits[1], masked.draft_logits[1]), 1e-6);
}

TEST(DraftAndVerify, GreedyEqualsArGreedyTokenForToken) {
  torch::manual_seed(22);
  ElaraModel untrained(draft_config());
  ElaraModel trained(draft_config());
  train_on_period(trained, 300);
  GenerateOptions o;
  o.temperature = 0;
  o.max_new_tokens = 40;
  for (auto* lm : {&untrained, &trained}) {
    for (int64_t phase : {0, 3}) {
      auto prompt = periodic(5, phase).unsqueeze(0);
      auto ar = elarin::models::generate(*lm, prompt, o);
      DraftStats st;
      auto dv = elarin::models::generate_draft(*lm, prompt, o, &st);
      EXPECT_TRUE(torch::equal(ar, dv)) << "AR   " << ar << "\ndraft " << dv;
      EXPECT_GT(st.proposed, 0);
      if (lm == &trained) {
        // The period is learnt: most drafts pass, so there are far fewer passes than tokens.
        EXPECT_GT(st.acceptance(), 0.8) << st.accepted << " / " << st.proposed;
        EXPECT_LT(st.passes, o.max_new_tokens / 2) << st.passes;
      }
    }
  }
}

TEST(DraftAndVerify, SamplingIsSeededAndRefusedWithoutAHead) {
  torch::manual_seed(23);
  ElaraModel lm(draft_config());
  train_on_period(lm, 60);
  GenerateOptions o;
  o.temperature = 1.0;
  o.max_new_tokens = 30;
  o.seed = 5;
  auto prompt = periodic(4, 1).unsqueeze(0);
  auto a = elarin::models::generate_draft(lm, prompt, o);
  auto b = elarin::models::generate_draft(lm, prompt, o);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(a.size(1), 34);
  EXPECT_TRUE(torch::equal(a.narrow(1, 0, 4), prompt));
  EXPECT_GE(a.min().item<int64_t>(), 0);
  EXPECT_LT(a.max().item<int64_t>(), 11);
  auto c = draft_config();
  c.use_diffusion_head = false;
  ElaraModel plain(c);
  EXPECT_THROW(elarin::models::generate_draft(plain, prompt, o), elarin::UsageError);
}

}  // namespace
