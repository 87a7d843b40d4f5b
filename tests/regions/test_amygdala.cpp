// The amygdala: its mood is the softmax-weighted vote of the nearest phrases of its table
// (checked against that formula by hand), 0 for silence or an empty table; a name's valence is
// recall_gain x recall; the table is saved as valence.safetensors and a bad one is refused
// with the old table kept. The hypothalamus adds favour_boost x a favourable valence of the
// answer given to dopamine, and nothing for an unfavourable one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "elarin/brain/valence.hpp"
#include "elarin/core/errors.hpp"
#include "regions/region_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::test::Made;
namespace fs = std::filesystem;

// A table of four phrases on the first axes: +1, +1, -1, -1.
elarin::brain::RegionState table() {
  auto m = torch::zeros({4, 128});
  for (int i = 0; i < 4; ++i) m[i][i] = 1;
  return {{"table.meaning", m},
          {"table.valence", torch::tensor({1.f, 1.f, -1.f, -1.f})},
          {"table.centre", torch::zeros({128})}};
}

double mood(Made& m, const torch::Tensor& meaning) {
  return m.region->tick({}, {{"meaning", meaning}, {"recall", torch::zeros({10})}})
      .at("mood")
      .item<double>();
}

TEST(Amygdala, MoodIsTheWeightedVoteOfTheNearestPhrases) {
  Made m("amygdala", {"region.amygdala.k=3", "region.amygdala.tau=0.1"});
  EXPECT_EQ(mood(m, torch::ones({128})), 0.0) << "an empty table appraises all as 0";
  m.region->load_state(table());
  auto x = torch::zeros({128});
  x[0] = 0.9f, x[2] = 0.3f, x[3] = 0.1f;  // nearest: phrase 0 (+), 2 (-), 3 (-)
  const double n = std::sqrt(0.81 + 0.09 + 0.01);
  const double w0 = std::exp(0.9 / n / 0.1), w2 = std::exp(0.3 / n / 0.1),
               w3 = std::exp(0.1 / n / 0.1);
  const double want = (w0 - w2 - w3) / (w0 + w2 + w3);
  EXPECT_NEAR(mood(m, x), want, 1e-5);
  EXPECT_EQ(mood(m, torch::zeros({128})), 0.0) << "nothing read: no mood";
  auto y = torch::zeros({128});
  y[3] = 1;
  EXPECT_LT(mood(m, y), -0.99) << "a bad phrase's own meaning";
}

TEST(Amygdala, ValenceIsScaledRecall) {
  Made m("amygdala", {"region.amygdala.recall_gain=2"});
  auto recall = torch::linspace(-1, 1, 10);
  auto out = m.region->tick({}, {{"meaning", torch::zeros({128})}, {"recall", recall}});
  EXPECT_TRUE(torch::allclose(out.at("valence"), 2 * recall));
}

TEST(Amygdala, TableIsSavedAsValenceSafetensorsAndABadOneIsRefused) {
  elarin::test::TempDir dir;
  Made m("amygdala");
  m.region->load_state(table());
  const std::string own = (fs::path(dir.path) / "amygdala.safetensors").string();
  ASSERT_TRUE(m.region->persist(own, {}));
  EXPECT_FALSE(fs::exists(own));
  EXPECT_TRUE(fs::exists(fs::path(dir.path) / "valence.safetensors"));
  Made copy("amygdala");
  EXPECT_EQ(copy.region->restore(own, true, 1), elarin::brain::Region::Restored::kLoaded);
  auto x = torch::zeros({128});
  x[2] = 1;
  EXPECT_NEAR(mood(copy, x), mood(m, x), 1e-6);
  EXPECT_LT(mood(copy, x), 0);

  auto bad = table();
  bad["table.valence"] = torch::tensor({1.f, 3.f, -1.f, -1.f});
  EXPECT_THROW(copy.region->load_state(bad), elarin::FormatError);
  bad = table();
  bad["table.meaning"] = torch::zeros({4, 64});
  EXPECT_THROW(copy.region->load_state(bad), elarin::FormatError);
  EXPECT_NEAR(mood(copy, x), mood(m, x), 1e-6) << "a refused table leaves the old one";
}

TEST(Amygdala, DevelopTakesOneMeaningPerValencePhrase) {
  Made m("amygdala");
  const auto n = static_cast<int64_t>(elarin::brain::valence_phrases().size());
  EXPECT_THROW(m.region->develop(torch::randn({n - 1, 128}), 1), c10::Error);
  auto rows = torch::randn({n, 128});
  m.region->develop(rows, 1);
  const auto& phrases = elarin::brain::valence_phrases();
  for (int64_t i = 0; i < n; i += 7)  // a phrase's own meaning: its valence dominates
    EXPECT_EQ(mood(m, rows[i]) > 0, phrases[static_cast<size_t>(i)].valence > 0) << i;
  // Centred on the phrases' mean: a common offset of every meaning changes no appraisal.
  Made shifted("amygdala");
  auto offset = 5 * torch::ones({128});
  shifted.region->develop(rows + offset, 1);
  for (int64_t i = 0; i < n; i += 5)
    EXPECT_NEAR(mood(shifted, rows[i] + offset), mood(m, rows[i]), 1e-4) << i;
}

double dopamine_after(Made& h, float valence_of_answer, double reward) {
  auto emitted = torch::zeros({10});
  emitted[4] = 1;
  auto valence = torch::zeros({10});
  valence[4] = valence_of_answer;
  valence[5] = 3.0f;  // another name's valence does not count
  h.region->tick(
      {}, {{"expected", torch::full({1}, 0.25f)}, {"emitted", emitted}, {"valence", valence}});
  return h.region->neuromodulate(0, reward, false).dopamine;
}

TEST(Hypothalamus, AFavourablePredictionIsASmallDopamineBoost) {
  Made h("hypothalamus", {"region.hypothalamus.favour_boost=0.1"});
  EXPECT_NEAR(dopamine_after(h, 0.6f, 1.0), 1.0 - 0.25 + 0.1 * 0.6, 1e-6);
  EXPECT_NEAR(dopamine_after(h, -0.6f, 1.0), 1.0 - 0.25, 1e-6) << "unfavourable: no boost";
  EXPECT_NEAR(dopamine_after(h, 0.6f, -1.0), -1.0 - 0.25 + 0.1 * 0.6, 1e-6);
  Made off("hypothalamus", {"region.hypothalamus.favour_boost=0"});
  EXPECT_NEAR(dopamine_after(off, 0.6f, 1.0), 0.75, 1e-6);
}

}  // namespace
