// The diffusion head and draft-and-verify decoding: mask positions do not change the AR
// logits of the tokens before them; greedy draft-and-verify output equals AR greedy token
// for token, on a briefly trained tiny model (drafts mostly accepted) and on an untrained one
// (drafts mostly rejected); seeded sampling repeats itself; a model without the head is
// refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "elarin/models/elara/generate.hpp"
#include "elarin/nn/fused_adamw.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::models::DraftStats;
using elarin::models::ElaraConfig;
using elarin::models::ElaraModel;
using elarin::models::GenerateOptions;

ElaraConfig draft_config() {
  ElaraConfig c;
  c.vocab_size = 11;
  c.block_size = 64;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  c.use_diffusion_head = true;
  c.draft_len = 4;
  return c;
}

// A sequence with period 7 over ids 0..6, starting at `phase`.
torch::Tensor periodic(int64_t length, int64_t phase) {
  return (torch::arange(length, torch::kLong) + phase).remainder(7);
}

// Trains the AR head and the diffusion head on the periodic sequence, as train lm does:
// tokens 0..p-1 for the AR loss, draft_len masks after them predicting tokens p..p+k-1.
void train_on_period(ElaraModel& lm, int steps) {
  elarin::nn::AdamWOptions o;
  o.lr = 3e-3;
  o.weight_decay = 0;
  elarin::nn::FusedAdamW opt(lm->parameters(), o);
  const int64_t T = 32, k = lm->config().draft_len;
  for (int s = 0; s < steps; ++s) {
    std::vector<torch::Tensor> rows;
    for (int64_t b = 0; b < 8; ++b) rows.push_back(periodic(T + 1, (s * 8 + b) % 7));
    auto w = torch::stack(rows);
    auto x = w.narrow(1, 0, T), y = w.narrow(1, 1, T);
    const int64_t p = 8 + s % (T - k - 8);
    auto out = lm->forward(x.narrow(1, 0, p), nullptr, false, k);
    auto loss = torch::nn::functional::cross_entropy(out.logits.reshape({-1, 11}),
                                                     y.narrow(1, 0, p).reshape(-1)) +
                0.5 * torch::nn::functional::cross_entropy(out.draft_logits.reshape({-1, 11}),
                                                           x.narrow(1, p, k).reshape(-1));
    loss.backward();
    opt.step();
    opt.zero_grad();
  }
}

TEST(DiffusionHead, MaskPositionsDoNotChangeTheTokensLogits) {
  torch::manual_seed(21);
  ElaraModel lm(draft_config());
  lm->eval();
  torch::NoGradGuard g;
  auto ids = torch::randint(0, 11, {2, 9});
  auto plain = lm->forward(ids);
  auto masked = lm->forward(ids, nullptr, false, 4);
  ASSERT_EQ(masked.draft_logits.sizes(), (std::vector<int64_t>{2, 4, 11}));
  EXPECT_LT(elarin::test::max_abs_diff(plain.logits, masked.logits), 1e-5);
  // and the drafts do read the prefix
  auto ids2 = ids.clone();
  ids2[0][8] = (ids[0][8].item<int64_t>() + 1) % 11;
  auto other = lm->forward(ids2, nullptr, false, 4);
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
