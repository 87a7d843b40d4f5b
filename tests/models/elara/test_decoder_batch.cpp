// Continuous batching through ElaraDecoder::forward_batch: several sequences, each with its own
// DecoderCache, in one pass compute what each computes alone through ElaraDecoder::forward
// (prompts of different lengths after different cached lengths, then steps with a sequence
// joining late and one leaving early), on a GQA model with q/k norms, biases, recursion and an
// MoE layer, through the AVX-512 kernels and the portable ones; every logit and the final-norm
// hidden states of a prompt match forward() and ElaraModel; a bad request leaves every cache
// as it was; a truncated cache decodes again as the first time.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "elarin/core/runtime.hpp"
#include "elarin/models/elara/decoder.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::models::DecoderCache;
using elarin::models::DecodeRequest;
using elarin::models::ElaraConfig;
using elarin::models::ElaraDecoder;
using elarin::models::ElaraModel;
using elarin::test::max_abs_diff;

// Grouped-query heads, q/k norms, biases, an untied head, recursion depth 2, and layer 1 of 2
// an MoE layer.
ElaraConfig config() {
  ElaraConfig c;
  c.vocab_size = 37;
  c.block_size = 40;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.n_embd = 32;
  c.head_size = 12;
  c.qk_norm = true;
  c.bias = true;
  c.tie_embeddings = false;
  c.recursion_depth = 2;
  c.expert_count = 4;
  c.moe_top_k = 2;
  c.moe_every = 2;
  c.expert_hidden = 24;
  return c;
}

// A model whose biases and norm gains are not their initial zeros and ones, so that one the
// batched path dropped would show.
ElaraModel model(const ElaraConfig& cfg) {
  torch::manual_seed(7);
  ElaraModel lm(cfg);
  lm->eval();
  torch::NoGradGuard g;
  for (auto& p : lm->named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().normal_(0, 0.1);
    if (p.key().find("norm.weight") != std::string::npos) p.value().normal_(1, 0.2);
  }
  return lm;
}

std::vector<int64_t> random_ids(int64_t n, int64_t vocab) {
  auto t = torch::randint(0, vocab, {n});
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

std::vector<int64_t> slice(const std::vector<int64_t>& v, size_t b, size_t e) {
  return std::vector<int64_t>(v.begin() + static_cast<std::ptrdiff_t>(b),
                              v.begin() + static_cast<std::ptrdiff_t>(e));
}

// Three sequences. A: 5 cached alone, then a 9-token prompt chunk in the batch. B: a 3-token
// prompt. C joins after two steps with a 7-token prompt while A and B step; B leaves after
// four steps. Every pass's last logits = the same sequence alone through forward().
void expect_batches_match_each_alone() {
  const auto cfg = config();
  auto lm = model(cfg);
  ASSERT_TRUE(lm->layers->ptr<elarin::models::ElaraBlockImpl>(1)->is_moe());
  ElaraDecoder dec(lm);
  torch::manual_seed(3);
  const std::vector<std::vector<int64_t>> seq = {random_ids(26, cfg.vocab_size),
                                                 random_ids(10, cfg.vocab_size),
                                                 random_ids(16, cfg.vocab_size)};
  // The references: each sequence through forward() alone, one position at a time after
  // the same prompt split, its logits per position.
  auto alone = [&](const std::vector<int64_t>& ids, std::vector<size_t> cuts) {
    dec.clear();
    std::vector<torch::Tensor> rows;
    size_t at = 0;
    for (size_t cut : cuts) {
      rows.push_back(dec.forward(slice(ids, at, cut)).logits);
      at = cut;
    }
    for (; at < ids.size(); ++at) rows.push_back(dec.forward({ids[at]}).logits);
    return torch::cat(rows);  // (T, V) logits at every position
  };
  const std::vector<torch::Tensor> ref = {alone(seq[0], {5, 14}), alone(seq[1], {3}),
                                          alone(seq[2], {7})};

  DecoderCache cache[3];
  size_t fed[3] = {0, 0, 0};
  double worst = 0;
  auto pass = [&](std::vector<std::pair<int, size_t>> feeds) {  // sequence, ids to feed
    std::vector<DecodeRequest> batch;
    for (auto [s, n] : feeds) {
      DecodeRequest r;
      r.cache = &cache[s];
      r.ids = slice(seq[static_cast<size_t>(s)], fed[s], fed[s] + n);
      batch.push_back(r);
    }
    auto res = dec.forward_batch(batch);
    ASSERT_EQ(res.size(), feeds.size());
    for (size_t i = 0; i < feeds.size(); ++i) {
      const auto [s, n] = feeds[i];
      fed[s] += n;
      EXPECT_EQ(cache[s].length(), static_cast<int64_t>(fed[s]));
      ASSERT_EQ(res[i].logits.sizes(), (torch::IntArrayRef{1, cfg.vocab_size}));
      EXPECT_FALSE(res[i].hidden.defined());
      const double d = max_abs_diff(res[i].logits[0],
                                    ref[static_cast<size_t>(s)][static_cast<int64_t>(fed[s]) - 1]);
      EXPECT_LT(d, 1e-5) << "sequence " << s << " at " << fed[s];
      worst = std::max(worst, d);
    }
  };
  pass({{0, 5}});          // A's first 5 alone
  pass({{0, 9}, {1, 3}});  // prefill: A's 9 after its 5 cached, B's prompt of 3
  pass({{0, 1}, {1, 1}});  // two steps together
  pass({{0, 1}, {1, 1}});
  pass({{0, 1}, {1, 1}, {2, 7}});                      // C joins with its prompt while A and B step
  pass({{0, 1}, {2, 1}, {1, 1}});                      // any order
  for (int i = 0; i < 8; ++i) pass({{2, 1}, {0, 1}});  // B has left
  std::printf("  3 sequences batched vs each alone: max logit diff %.3e (tol 1e-5)\n", worst);
  EXPECT_GT(cache[0].bytes(), 0);
  EXPECT_EQ(fed[0], 26u);  // A and C to their ends, B left after 7
  EXPECT_EQ(fed[1], 7u);
  EXPECT_EQ(fed[2], 16u);
}

TEST(ElaraDecoderBatch, SequencesInOnePassMatchEachAlone) { expect_batches_match_each_alone(); }

// The portable attention loops (CPUs without AVX-512F), here too.
TEST(ElaraDecoderBatch, PortableKernelsMatchEachAlone) {
  elarin::set_avx512_kernels(false);
  expect_batches_match_each_alone();
  elarin::set_avx512_kernels(true);
}

// all_logits: every fed position's logits (T, V), as forward() gives; hidden: the final-norm
// hidden states (T, C), as ElaraModel::forward gives; both for two sequences in one pass.
TEST(ElaraDecoderBatch, AllLogitsAndHiddenMatchForwardAndTheModel) {
  const auto cfg = config();
  auto lm = model(cfg);
  ElaraDecoder dec(lm);
  torch::manual_seed(5);
  const auto a = random_ids(11, cfg.vocab_size), b = random_ids(6, cfg.vocab_size);
  auto ref_logits = dec.forward(a).logits;  // (11, V)
  torch::NoGradGuard g;
  auto ref_hidden = lm->forward(torch::tensor(b).view({1, -1})).hidden[0];  // (6, C)
  DecoderCache ca, cb;
  std::vector<DecodeRequest> batch(2);
  batch[0].cache = &ca;
  batch[0].ids = a;
  batch[0].all_logits = true;
  batch[1].cache = &cb;
  batch[1].ids = b;
  batch[1].hidden = true;
  auto res = dec.forward_batch(batch);
  ASSERT_EQ(res[0].logits.sizes(), (torch::IntArrayRef{11, cfg.vocab_size}));
  ASSERT_EQ(res[1].logits.sizes(), (torch::IntArrayRef{1, cfg.vocab_size}));
  ASSERT_EQ(res[1].hidden.sizes(), (torch::IntArrayRef{6, cfg.n_embd}));
  EXPECT_FALSE(res[0].hidden.defined());
  const double dl = max_abs_diff(res[0].logits, ref_logits);
  const double dh = max_abs_diff(res[1].hidden, ref_hidden);
  const double dlast = max_abs_diff(res[1].logits[0], lm->head(ref_hidden)[5]);
  std::printf(
      "  all_logits vs forward(): %.3e; hidden vs ElaraModel: %.3e; its last logits: "
      "%.3e (tol 1e-5)\n",
      dl, dh, dlast);
  EXPECT_LT(dl, 1e-5);
  EXPECT_LT(dh, 1e-5);
  EXPECT_LT(dlast, 1e-5);
}

// A bad request anywhere in the batch throws before any cache moves.
TEST(ElaraDecoderBatch, ABadRequestLeavesEveryCacheUnchanged) {
  const auto cfg = config();
  auto lm = model(cfg);
  ElaraDecoder dec(lm);
  EXPECT_EQ(dec.context(), cfg.block_size);
  DecoderCache c[3];
  std::vector<DecodeRequest> batch(3);
  for (int i = 0; i < 3; ++i) {
    batch[static_cast<size_t>(i)].cache = &c[i];
    batch[static_cast<size_t>(i)].ids = std::vector<int64_t>(static_cast<size_t>(4 + i), 1);
  }
  dec.forward_batch(batch);
  auto lengths = [&] { return std::vector<int64_t>{c[0].length(), c[1].length(), c[2].length()}; };
  const std::vector<int64_t> before = {4, 5, 6};
  ASSERT_EQ(lengths(), before);
  auto expect_refused = [&](std::vector<DecodeRequest> bad, const char* what) {
    EXPECT_THROW(dec.forward_batch(bad), c10::Error) << what;
    EXPECT_EQ(lengths(), before) << what;
  };
  auto steps = [&] {  // one good step per sequence
    std::vector<DecodeRequest> s(3);
    for (int i = 0; i < 3; ++i) {
      s[static_cast<size_t>(i)].cache = &c[i];
      s[static_cast<size_t>(i)].ids = {2};
    }
    return s;
  };
  auto bad = steps();
  bad[2].ids = {3, cfg.vocab_size};  // the last request's second id is out of the vocabulary
  expect_refused(bad, "id out of range");
  bad = steps();
  bad[1].ids = {-1};
  expect_refused(bad, "negative id");
  bad = steps();
  bad[1].ids = std::vector<int64_t>(static_cast<size_t>(cfg.block_size - 5 + 1), 2);  // past it
  expect_refused(bad, "position past block_size");
  bad = steps();
  bad[0].ids.clear();
  expect_refused(bad, "no ids");
  bad = steps();
  bad[2].cache = &c[0];
  expect_refused(bad, "one cache twice");
  bad = steps();
  bad[1].cache = nullptr;
  expect_refused(bad, "no cache");
  // Up to block_size exactly is fine.
  bad = steps();
  bad[1].ids = std::vector<int64_t>(static_cast<size_t>(cfg.block_size - 5), 2);
  dec.forward_batch(bad);
  EXPECT_EQ(c[1].length(), cfg.block_size);
  EXPECT_TRUE(dec.forward_batch({}).empty());
}

// Truncating a cache and feeding the dropped ids again gives the same logits as the first time
// (and a cleared cache, the same as a fresh one), while another sequence shares the pass.
TEST(ElaraDecoderBatch, TruncateThenRefeedGivesTheSameLogits) {
  const auto cfg = config();
  auto lm = model(cfg);
  ElaraDecoder dec(lm);
  torch::manual_seed(9);
  const auto a = random_ids(20, cfg.vocab_size), b = random_ids(20, cfg.vocab_size);
  DecoderCache ca, cb;
  auto feed = [&](const std::vector<int64_t>& ids_a, size_t b_at) {
    std::vector<DecodeRequest> batch(2);
    batch[0].cache = &ca;
    batch[0].ids = ids_a;
    batch[0].all_logits = true;
    batch[1].cache = &cb;
    batch[1].ids = {b[b_at]};
    return dec.forward_batch(batch)[0].logits;
  };
  feed(slice(a, 0, 12), 0);
  auto first = feed(slice(a, 12, 17), 1);  // (5, V)
  ca.truncate(12);
  EXPECT_EQ(ca.length(), 12);
  auto again = feed(slice(a, 12, 17), 2);
  ca.clear();
  auto fresh = feed(slice(a, 0, 12), 3);
  DecoderCache cn;  // never used: the reference for the cleared one
  DecodeRequest r;
  r.cache = &cn;
  r.ids = slice(a, 0, 12);
  r.all_logits = true;
  auto ref_prompt = dec.forward_batch({r})[0].logits;
  const double d1 = max_abs_diff(again, first), d2 = max_abs_diff(fresh, ref_prompt);
  std::printf("  after truncate: %.3e; after clear: %.3e (tol 1e-5)\n", d1, d2);
  EXPECT_LT(d1, 1e-5);
  EXPECT_LT(d2, 1e-5);
  EXPECT_EQ(ca.length(), 12);
}

// A decoder that takes the weights (what `elarin serve` does) frees the model's copies of the packed
// weights, a tied embedding included (its rows then come from the packed head), and changes no
// output of the decoder: logits equal a decoder over the same weights kept, with the AVX-512 and
// the portable kernels, tied and untied heads; the model's own forward then refuses to run.
TEST(ElaraDecoderBatch, ReleasedModelWeightsChangeNoOutput) {
  for (const bool avx512 : {true, false}) {
    for (const bool tied : {false, true}) {
      elarin::set_avx512_kernels(avx512);
      auto cfg = config();
      cfg.tie_embeddings = tied;
      auto kept = model(cfg), released = model(cfg);  // the same seed: the same weights
      int64_t before = 0, after = 0;
      for (const auto& p : released->parameters()) before += p.numel();
      ElaraDecoder a(kept), b(released, /*take_weights=*/true);
      for (const auto& p : released->parameters()) after += p.numel();
      int64_t embedding = cfg.vocab_size * cfg.n_embd;
      EXPECT_LT(after, before - (tied ? embedding : 0) - 8 * cfg.n_embd) << "tied " << tied;
      EXPECT_EQ(released->embed_tokens->weight.numel(), tied ? 0 : embedding);
      torch::manual_seed(4);
      const auto ids = random_ids(9, cfg.vocab_size);
      DecoderCache ca, cb;
      DecodeRequest ra, rb;
      ra.cache = &ca;
      rb.cache = &cb;
      ra.ids = rb.ids = ids;
      ra.all_logits = rb.all_logits = true;
      const auto la = a.forward_batch({ra})[0].logits, lb = b.forward_batch({rb})[0].logits;
      ra.ids = rb.ids = {ids[3]};
      const auto sa = a.forward_batch({ra})[0].logits, sb = b.forward_batch({rb})[0].logits;
      const auto fa = a.forward(ids).logits, fb = b.forward(ids).logits;
      const double d = std::max({max_abs_diff(la, lb), max_abs_diff(sa, sb), max_abs_diff(fa, fb)});
      std::printf("  avx512 %d tied %d: released vs kept %.3e (tol 0)\n", avx512, tied, d);
      EXPECT_EQ(d, 0.0);
      EXPECT_THROW(released->forward(torch::tensor({{1, 2}}, torch::kLong)), std::exception);
    }
  }
  elarin::set_avx512_kernels(true);
}

}  // namespace
