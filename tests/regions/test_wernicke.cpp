// Wernicke on its own: next-byte development makes its LM predict held-out text far better
// than before (the LM is rebuilt from the saved state and scored here, in nats per byte);
// the meanings of the development text are centred; different texts mean different things,
// the same text the same; empty text gives no activity; the saved state round-trips.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "regions/region_test_util.hpp"

namespace {

using elarin::test::Made;

const std::vector<std::string> kSmall = {"region.wernicke.length=16", "region.wernicke.width=32",
                                         "region.wernicke.heads=2",   "region.wernicke.layers=2",
                                         "region.wernicke.front=1",   "region.wernicke.steps=300",
                                         "region.wernicke.lr=3e-3"};

// Windows of a small English text with its regularities, as text-port rows of 16 bytes.
torch::Tensor windows(int64_t n, uint64_t seed) {
  const std::string text =
      "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat and the "
      "log. the cat ran, the dog sat. ";
  auto gen = at::detail::createCPUGenerator(seed);
  auto starts = torch::randint(0, static_cast<int64_t>(text.size()) - 16, {n}, gen, torch::kLong);
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < n; ++i)
    rows.push_back(elarin::brain::text_row(
        text.substr(static_cast<size_t>(starts[i].item<int64_t>()), 16), 16));
  return torch::stack(rows);
}

// Next-byte cross-entropy (nats) of the LM held in a wernicke state on `rows`.
double lm_loss(const elarin::brain::RegionState& st, const torch::Tensor& rows) {
  elarin::models::ElaraConfig c;
  c.block_size = 16;
  c.vocab_size = 256;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  elarin::models::ElaraModel lm(c);
  torch::NoGradGuard no_grad;
  for (auto& p : lm->named_parameters()) p.value().copy_(st.at("lm." + p.key()));
  auto ids = rows.to(torch::kLong);
  auto out = lm->forward(ids.narrow(1, 0, 15));
  return torch::nn::functional::cross_entropy(out.logits.reshape({-1, 256}),
                                              ids.narrow(1, 1, 15).reshape({-1}))
      .item<double>();
}

TEST(Wernicke, NextByteDevelopmentLearnsTheTextAndCentresTheMeanings) {
  Made m("wernicke", kSmall);
  m.region->initialise(2);
  auto dev = windows(400, 1), held_out = windows(100, 2);
  const double before = lm_loss(m.region->state(), held_out);
  m.region->develop(dev, 3);
  const double after = lm_loss(m.region->state(), held_out);
  std::printf("held-out next-byte loss: %.3f -> %.3f nats (uniform %.3f)\n", before, after,
              std::log(256.0));
  EXPECT_GT(before, 4.5);
  EXPECT_LT(after, 1.5);
  // Centred: the development text's meanings (before unit scaling) average to ~0.
  elarin::brain::TickContext ctx;
  auto mean = m.region->state().at("mean");
  EXPECT_GT(mean.norm().item<float>(), 0.1f) << "the common part was measured";
  torch::Tensor sum = torch::zeros({32});
  for (int64_t i = 0; i < 50; ++i) sum += m.region->tick(ctx, {{"text", dev[i]}}).at("meaning");
  EXPECT_LT((sum / 50).norm().item<float>(), 0.5f) << "unit meanings do not share one direction";
}

TEST(Wernicke, DifferentTextsMeanDifferentThingsAndEmptyTextIsQuiet) {
  Made m("wernicke", kSmall);
  m.region->develop(windows(200, 1), 3);
  elarin::brain::TickContext ctx;
  auto mean_of = [&](const std::string& s) {
    return m.region->tick(ctx, {{"text", elarin::brain::text_row(s, 16)}}).at("meaning");
  };
  auto seven = mean_of("seven"), again = mean_of("seven"), three = mean_of("three");
  EXPECT_TRUE(torch::equal(seven, again));
  EXPECT_NEAR(seven.norm().item<float>(), 1.0f, 1e-5);
  EXPECT_LT(torch::dot(seven, three).item<float>(), 0.99f);
  EXPECT_EQ(mean_of("").abs().max().item<float>(), 0.0f);
  // Bytes after the first padding zero are not read.
  auto padded = elarin::brain::text_row("seven", 16);
  padded[10] = 65;
  EXPECT_TRUE(torch::equal(m.region->tick(ctx, {{"text", padded}}).at("meaning"), seven));
}

TEST(Wernicke, SavedStateRoundTripsAndABadOneChangesNothing) {
  Made a("wernicke", kSmall), b("wernicke", kSmall);
  a.region->develop(windows(200, 1), 3);
  b.region->initialise(9);
  b.region->load_state(a.region->state());
  elarin::brain::TickContext ctx;
  auto x = elarin::brain::text_row("a seven", 16);
  auto ya = a.region->tick(ctx, {{"text", x}}).at("meaning");
  EXPECT_TRUE(torch::equal(ya, b.region->tick(ctx, {{"text", x}}).at("meaning")));
  auto bad = a.region->state();
  bad["mean"] = torch::zeros({31});
  Made c("wernicke", kSmall);
  c.region->load_state(a.region->state());
  EXPECT_THROW(c.region->load_state(bad), elarin::FormatError);
  EXPECT_TRUE(torch::equal(c.region->tick(ctx, {{"text", x}}).at("meaning"), ya));
  EXPECT_THROW(Made("wernicke", {"region.wernicke.front=5"}), elarin::UsageError);
}

}  // namespace
