// Spoken words: the variant table, the band-limited resampler, and real espeak-ng synthesis
// (16 kHz files, feature shape, non-silence, distinct words, the cache, missing program).
#include "elarin/data/speech.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "elarin/core/errors.hpp"
#include "elarin/data/wav.hpp"
#include "test_util.hpp"

namespace {
namespace fs = std::filesystem;

using elarin::test::TempDir;

bool have_espeak() { return std::system("espeak-ng --version > /dev/null 2>&1") == 0; }

TEST(DataSpeech, VariantTableIsDistinctAndBounded) {
  std::set<std::string> seen;
  for (int k = 0; k < elarin::kMaxSpeechVariants; ++k) {
    const auto v = elarin::speech_variant(k);
    seen.insert(v.voice + "/" + std::to_string(v.speed) + "/" + std::to_string(v.pitch));
  }
  EXPECT_EQ(seen.size(), size_t(elarin::kMaxSpeechVariants));
  // The first few already vary voice, speed and pitch.
  EXPECT_NE(elarin::speech_variant(0).voice, elarin::speech_variant(1).voice);
  EXPECT_NE(elarin::speech_variant(0).speed, elarin::speech_variant(1).speed);
  EXPECT_NE(elarin::speech_variant(0).pitch, elarin::speech_variant(1).pitch);
  EXPECT_THROW(elarin::speech_variant(elarin::kMaxSpeechVariants), elarin::UsageError);
}

TEST(DataSpeech, ResamplerKeepsInBandTonesAndRemovesAliases) {
  auto t_in = torch::arange(11025, torch::kFloat64) / 22050.0;  // 0.5 s at 22050 Hz
  auto t_out = torch::arange(8000, torch::kFloat64) / 16000.0;
  auto low =
      elarin::resample(torch::sin(2 * M_PI * 1000.0 * t_in).to(torch::kFloat32), 22050, 16000);
  ASSERT_EQ(low.numel(), 8000);
  auto ideal = torch::sin(2 * M_PI * 1000.0 * t_out).to(torch::kFloat32);
  // Away from the edges, where the zero padding outside the signal does not reach.
  const float diff = (low - ideal).slice(0, 100, 7900).abs().max().item<float>();
  std::printf("resample 1 kHz tone 22050 -> 16000 max |diff| = %.3g\n", diff);
  EXPECT_LT(diff, 5e-3f);
  // 10 kHz is above the 8 kHz output Nyquist: it must vanish, not fold down to 6 kHz.
  auto high =
      elarin::resample(torch::sin(2 * M_PI * 10000.0 * t_in).to(torch::kFloat32), 22050, 16000);
  const float rms = high.slice(0, 100, 7900).pow(2).mean().sqrt().item<float>();
  std::printf("resample 10 kHz tone residual rms = %.3g (input 0.707)\n", rms);
  EXPECT_LT(rms, 0.01f);
}

TEST(DataSpeech, EspeakWordsGiveDistinctNonSilentFeatures) {
  if (!have_espeak()) GTEST_SKIP() << "espeak-ng absent: sudo apt-get install espeak-ng";
  TempDir dir;
  elarin::SpeechOptions opt;
  opt.frames = 100;
  auto ds = elarin::generate_spoken_words({"seven", "yes"}, dir.path, 2, opt);
  ASSERT_EQ(ds.features.sizes(), (std::vector<int64_t>{4, 80, 100}));
  EXPECT_TRUE(torch::equal(ds.labels, torch::tensor({0, 0, 1, 1}, torch::kInt64)));
  ASSERT_EQ(ds.paths.size(), 4u);
  for (size_t i = 0; i < ds.paths.size(); ++i) {
    auto w = elarin::read_wav(ds.paths[i], 16000);  // throws unless 16 kHz mono 16-bit
    EXPECT_GT(w.samples.numel(), 4000) << ds.paths[i];
    EXPECT_GT(w.samples.pow(2).mean().sqrt().item<float>(), 0.01f) << ds.paths[i];
    // Silence would be flat at the floor; speech spans most of the 2-unit range.
    auto f = ds.features[int64_t(i)];
    EXPECT_GT((f.max() - f.min()).item<float>(), 1.5f) << ds.paths[i];
  }
  // Variants of one word differ (voice, speed, pitch), and the two words differ.
  const float same_word = (ds.features[0] - ds.features[1]).abs().mean().item<float>();
  const float other_word = (ds.features[0] - ds.features[2]).abs().mean().item<float>();
  std::printf("mean |diff| variants of one word %.3f, two words %.3f\n", same_word, other_word);
  EXPECT_GT(same_word, 0.05f);
  EXPECT_GT(other_word, 0.05f);

  // The cache: with the program gone, the same call still succeeds from the saved files.
  opt.program = "elarin-no-such-program";
  auto cached = elarin::generate_spoken_words({"seven", "yes"}, dir.path, 2, opt);
  EXPECT_TRUE(torch::equal(cached.features, ds.features));
}

TEST(DataSpeech, WordsAreTextNotOptions) {
  if (!have_espeak()) GTEST_SKIP() << "espeak-ng absent: sudo apt-get install espeak-ng";
  TempDir dir;
  // As argv this would be "write to file $(id)": through -f it is just spoken.
  auto ds = elarin::generate_spoken_words({"-w $(id);"}, dir.path, 1);
  ASSERT_EQ(ds.paths.size(), 1u);
  EXPECT_TRUE(fs::exists(ds.paths[0]));
  EXPECT_FALSE(fs::exists("$(id);"));
  const fs::path word_dir = fs::path(ds.paths[0]).parent_path();
  EXPECT_EQ(word_dir.parent_path(), fs::path(dir.path));
  EXPECT_EQ(word_dir.filename().string().find_first_of("$ ();"), std::string::npos) << word_dir;
}

TEST(DataSpeech, MissingProgramAndBadArgumentsAreNamed) {
  TempDir dir;
  elarin::SpeechOptions opt;
  opt.program = "elarin-no-such-program";
  try {
    elarin::generate_spoken_words({"hello"}, dir.path, 1, opt);
    FAIL() << "expected elarin::Error";
  } catch (const elarin::UsageError&) {
    FAIL() << "a missing program is not a usage error";
  } catch (const elarin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("`sudo apt-get install espeak-ng`"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(elarin::generate_spoken_words({"a", "a"}, dir.path, 1), elarin::UsageError);
  EXPECT_THROW(elarin::generate_spoken_words({"a"}, dir.path, 0), elarin::UsageError);
  EXPECT_THROW(elarin::generate_spoken_words({"two\nlines"}, dir.path, 1), elarin::UsageError);
}

}  // namespace
