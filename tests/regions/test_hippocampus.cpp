// The hippocampus: its recall matches a brute-force reference (cosine to every stored episode,
// the k nearest, weights exp((cos - 1) / tau), a rewarded episode votes for its answer and a
// punished one against); flat and HNSW indexes recall the same on a small memory; with a
// capacity it forgets the oldest episodes in chunks and keeps the newest; a file bigger than the
// capacity loads its newest episodes; replay draws stored episodes uniformly, the same for the
// same tick seed; bad settings and a bad table are refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "elarin/core/errors.hpp"
#include "regions/region_test_util.hpp"

namespace {

using elarin::test::Made;

constexpr int64_t kVocab = 10;  // brain.vocabulary by default: the digits

// Shows `x` and answers `action` with `reward`: one stored episode.
void store(Made& m, const torch::Tensor& x, int64_t action, double reward) {
  m.region->tick({}, {{"state", x}});
  elarin::brain::Neuromodulators mod;
  mod.action = action;
  mod.reward = reward;
  m.region->learn(mod);
}

torch::Tensor recall(Made& m, const torch::Tensor& x) {
  auto out = m.region->tick({}, {{"state", x}});
  m.region->learn({});  // no answer: nothing stored
  return out.at("recall");
}

// (vocab) the recall computed from the episode table by brute force.
torch::Tensor reference_recall(const torch::Tensor& keys, const std::vector<int64_t>& actions,
                               const std::vector<float>& outcomes, const torch::Tensor& x,
                               int64_t k, double tau) {
  auto sims = keys.matmul(x / x.norm());  // (N)
  auto top = sims.topk(std::min<int64_t>(k, keys.size(0)));
  auto vals = std::get<0>(top), ids = std::get<1>(top);
  auto r = torch::zeros({kVocab}, torch::kDouble);
  double total = 0;
  for (int64_t j = 0; j < ids.size(0); ++j) {
    const auto id = ids[j].item<int64_t>();
    const double w = std::exp((vals[j].item<double>() - 1.0) / tau);
    r[actions[static_cast<size_t>(id)]] += w * outcomes[static_cast<size_t>(id)];
    total += w;
  }
  return (r / (total + 1e-3)).to(torch::kFloat);
}

TEST(Hippocampus, RecallMatchesABruteForceReference) {
  for (const char* index : {"flat", "hnsw"}) {
    Made m("hippocampus",
           {"region.hippocampus.input=16", "region.hippocampus.k=4", "region.hippocampus.tau=0.2",
            std::string("region.hippocampus.index=") + index});
    auto gen = at::detail::createCPUGenerator(3);
    auto xs = torch::randn({40, 16}, gen);
    std::vector<int64_t> actions;
    std::vector<float> outcomes;
    for (int64_t i = 0; i < 40; ++i) {
      actions.push_back(i % kVocab);
      outcomes.push_back(i % 3 == 0 ? -1.f : 1.f);
      store(m, xs[i], actions.back(), outcomes.back() > 0 ? 1.0 : -0.5);
    }
    auto keys = xs / xs.norm(2, 1, true);
    for (int64_t q = 0; q < 5; ++q) {
      auto x = xs[q * 7] + 0.3 * torch::randn({16}, gen);
      auto got = recall(m, x);
      auto want = reference_recall(keys, actions, outcomes, x, 4, 0.2);
      EXPECT_LT((got - want).abs().max().item<float>(), 1e-5)
          << index << " query " << q << " max diff " << (got - want).abs().max().item<float>();
    }
    EXPECT_EQ(m.region->state().at("episodes.actions").numel(), 40) << index;
  }
}

TEST(Hippocampus, ACapacityForgetsTheOldestInChunks) {
  // capacity 32: chunks of 2. After 32 episodes it is full; the 33rd drops the 2 oldest.
  Made m("hippocampus", {"region.hippocampus.input=8", "region.hippocampus.capacity=32"});
  auto gen = at::detail::createCPUGenerator(4);
  auto xs = torch::randn({45, 8}, gen);
  auto count = [&] { return m.region->state().at("episodes.actions").numel(); };
  for (int64_t i = 0; i < 32; ++i) store(m, xs[i], i % kVocab, 1.0);
  EXPECT_EQ(count(), 32);
  store(m, xs[32], 32 % kVocab, 1.0);
  EXPECT_EQ(count(), 31) << "the two oldest forgotten";
  store(m, xs[33], 33 % kVocab, 1.0);
  EXPECT_EQ(count(), 32);
  for (int64_t i = 34; i < 45; ++i) store(m, xs[i], i % kVocab, 1.0);
  // 45 stored, at most 32 kept; the table is the newest, oldest first.
  auto st = m.region->state();
  const int64_t n = st.at("episodes.actions").numel();
  EXPECT_GE(n, 31);
  EXPECT_LE(n, 32);
  auto keys = st.at("episodes.keys");
  auto newest = xs.narrow(0, 45 - n, n);
  EXPECT_LT((keys - newest / newest.norm(2, 1, true)).abs().max().item<float>(), 1e-6);
  // A forgotten episode is not recalled: the memory only answers with what it kept.
  auto r = recall(m, xs[0]);
  std::vector<float> outcomes(static_cast<size_t>(n), 1.f);
  std::vector<int64_t> actions;
  for (int64_t i = 45 - n; i < 45; ++i) actions.push_back(i % kVocab);
  auto want = reference_recall(keys, actions, outcomes, xs[0], 10, 0.05);
  EXPECT_LT((r - want).abs().max().item<float>(), 1e-5);

  // An HNSW memory forgets the same way and recalls the same from what it kept (its graph is
  // rebuilt from the rest at each forgetting).
  Made graph("hippocampus", {"region.hippocampus.input=8", "region.hippocampus.capacity=32",
                             "region.hippocampus.index=hnsw"});
  for (int64_t i = 0; i < 45; ++i) store(graph, xs[i], i % kVocab, 1.0);
  EXPECT_TRUE(torch::equal(graph.region->state().at("episodes.keys"), keys));
  EXPECT_LT((recall(graph, xs[0]) - want).abs().max().item<float>(), 1e-5);

  // A file with more episodes than the capacity loads its newest.
  Made small("hippocampus", {"region.hippocampus.input=8", "region.hippocampus.capacity=10"});
  small.region->load_state(st);
  auto kept = small.region->state();
  EXPECT_EQ(kept.at("episodes.actions").numel(), 10);
  EXPECT_TRUE(torch::equal(kept.at("episodes.keys"), keys.narrow(0, n - 10, 10)));
  EXPECT_TRUE(
      torch::equal(kept.at("episodes.actions"), st.at("episodes.actions").narrow(0, n - 10, 10)));
}

TEST(Hippocampus, ReplayDrawsStoredEpisodesUniformlyByTheTicksSeed) {
  Made off("hippocampus", {"region.hippocampus.input=8"});
  for (const auto& p : off.region->outputs())
    EXPECT_EQ(p.name.rfind("replay", 0), std::string::npos);
  Made m("hippocampus", {"region.hippocampus.input=8", "region.hippocampus.replay=3"});
  auto quiet = torch::zeros({8});
  elarin::brain::TickContext ctx;
  ctx.seed = 9;
  auto empty = m.region->tick(ctx, {{"state", quiet}});
  EXPECT_EQ(empty.at("replay_state").numel(), 24);
  EXPECT_EQ(empty.at("replay_outcome").abs().max().item<float>(), 0.0f) << "nothing to replay";
  auto gen = at::detail::createCPUGenerator(5);
  auto xs = torch::randn({5, 8}, gen);
  for (int64_t i = 0; i < 5; ++i) store(m, xs[i], i + 2, i % 2 == 0 ? 1.0 : -1.0);
  auto keys = xs / xs.norm(2, 1, true);
  std::vector<int> seen(5, 0);
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    ctx.seed = seed;
    auto out = m.region->tick(ctx, {{"state", quiet}});
    m.region->learn({});
    auto rows = out.at("replay_state").view({3, 8});
    for (int64_t r = 0; r < 3; ++r) {
      const int64_t i = out.at("replay_answer")[r].item<int64_t>() - 2;  // answers were i + 2
      ASSERT_GE(i, 0);
      ASSERT_LT(i, 5);
      EXPECT_LT((rows[r] - keys[i]).abs().max().item<float>(), 1e-6) << "episode " << i << "'s key";
      EXPECT_EQ(out.at("replay_outcome")[r].item<float>(), i % 2 == 0 ? 1.0f : -1.0f);
      ++seen[static_cast<size_t>(i)];
    }
    if (seed == 0) {
      auto again = m.region->tick(ctx, {{"state", quiet}});
      m.region->learn({});
      EXPECT_TRUE(torch::equal(again.at("replay_state"), out.at("replay_state")))
          << "the same seed replays the same episodes";
    }
  }
  // 3,000 draws of 5 episodes: each expected 600 times (binomial sd ~22); allow 5 sd.
  for (int i = 0; i < 5; ++i)
    EXPECT_NEAR(seen[static_cast<size_t>(i)], 600, 110) << "episode " << i;
}

TEST(Hippocampus, BadSettingsAndTablesAreRefused) {
  EXPECT_THROW(Made("hippocampus", {"region.hippocampus.capacity=-1"}), elarin::UsageError);
  EXPECT_THROW(Made("hippocampus", {"region.hippocampus.replay=-1"}), elarin::UsageError);
  EXPECT_THROW(Made("hippocampus", {"region.hippocampus.k=0"}), elarin::UsageError);
  EXPECT_THROW(Made("hippocampus", {"region.hippocampus.index=lsh"}), elarin::UsageError);
  Made m("hippocampus", {"region.hippocampus.input=8"});
  store(m, torch::ones({8}), 3, 1.0);
  auto st = m.region->state();
  st["episodes.actions"] = torch::tensor(std::vector<int64_t>{kVocab}, torch::kLong);
  EXPECT_THROW(m.region->load_state(st), elarin::FormatError);
  EXPECT_EQ(m.region->state().at("episodes.actions").item<int64_t>(), 3)
      << "a refused table leaves the memory as it was";
}

}  // namespace
