// The naming task's stimuli and stream: the written forms of a name; text rows; the stream
// gives each sense one episode per block and cycles through each sense's items; the MNIST
// stream reorders exactly as a plain shuffle of the digits; spoken words go word-major to
// the stream and the kept-apart variants to development; Fashion-MNIST labels follow the
// digits'; unknown stimuli and missing ports are usage errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/image_dataset.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using elarin::brain::NamingData;
using elarin::brain::NamingSense;

TEST(NamingStimuli, TextFormsAreDistinctShortAndIncludeTheNumeral) {
  auto forms = elarin::brain::text_forms("seven", 7, 32);
  std::set<std::string> unique(forms.begin(), forms.end());
  EXPECT_EQ(unique.size(), forms.size());
  for (const char* f :
       {"seven", "Seven", "SEVEN", "a seven", "it is a seven", "7", "no. 7", "sveen", "sevn"})
    EXPECT_TRUE(unique.count(f)) << f;
  auto fashion = elarin::brain::text_forms("ankle-boot", -1, 8);
  for (const auto& f : fashion) {
    EXPECT_LE(f.size(), 8u) << f;
    EXPECT_EQ(f.find_first_of("0123456789"), std::string::npos) << f << ": no numeral";
  }
  EXPECT_TRUE(std::count(fashion.begin(), fashion.end(), "ankle bo"));
}

TEST(NamingStimuli, TextRowHoldsTheBytesThenZeros) {
  auto row = elarin::brain::text_row("ab", 4);
  EXPECT_TRUE(torch::equal(row, torch::tensor({97.0f, 98.0f, 0.0f, 0.0f})));
  EXPECT_EQ(elarin::brain::text_row("abcdef", 3).size(0), 3);
}

NamingSense sense(const std::string& kind, int64_t n) {
  NamingSense s;
  s.kind = kind;
  s.port = kind;
  s.items = torch::arange(n, torch::kFloat).unsqueeze(1);
  s.labels = torch::zeros({n}, torch::kLong);
  return s;
}

TEST(NamingStimuli, StreamGivesEverySenseOneEpisodePerBlockAndCyclesItsItems) {
  NamingData d;
  d.senses = {sense("a", 3), sense("b", 5)};
  auto gen = at::detail::createCPUGenerator(4);
  elarin::brain::build_stream(d, {torch::arange(3), torch::tensor({4, 3, 2, 1, 0})}, &gen);
  ASSERT_EQ(d.stream_size(), 10);  // 2 senses x the longer's 5 items
  std::vector<int64_t> a_items, b_items;
  for (int64_t block = 0; block < 5; ++block) {
    std::set<int64_t> in_block = {d.stream_sense[2 * block].item<int64_t>(),
                                  d.stream_sense[2 * block + 1].item<int64_t>()};
    EXPECT_EQ(in_block, (std::set<int64_t>{0, 1})) << "block " << block;
    for (int64_t k = 0; k < 2; ++k) {
      const int64_t e = 2 * block + k;
      (d.stream_sense[e].item<int64_t>() == 0 ? a_items : b_items)
          .push_back(d.stream_item[e].item<int64_t>());
    }
  }
  EXPECT_EQ(a_items, (std::vector<int64_t>{0, 1, 2, 0, 1}));  // cycles
  EXPECT_EQ(b_items, (std::vector<int64_t>{4, 3, 2, 1, 0}));  // in the order given
  bool both_orders = false;
  for (int64_t block = 1; block < 5; ++block)
    both_orders |= d.stream_sense[2 * block].item<int64_t>() != d.stream_sense[0].item<int64_t>();
  EXPECT_TRUE(both_orders) << "the order within blocks is shuffled";
}

TEST(NamingStimuli, OneSenseReordersAsAPlainShuffle) {
  NamingData d;
  d.senses = {sense("mnist", 50)};
  elarin::brain::build_stream(d, {torch::arange(50)}, nullptr);
  EXPECT_TRUE(torch::equal(d.stream_item, torch::arange(50)));
  auto r = elarin::brain::reorder_stream(d, 7);
  auto gen = at::detail::createCPUGenerator(7);
  EXPECT_TRUE(torch::equal(r.stream_item, torch::randperm(50, gen)))
      << "the same episodes as shuffling the digits themselves";
  EXPECT_TRUE(torch::equal(elarin::brain::reorder_stream(d, 0).stream_item, d.stream_item));
}

TEST(NamingStimuli, SpeechGoesWordMajorToTheStreamAndKeptVariantsToDevelopment) {
  if (std::system("command -v espeak-ng >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "espeak-ng absent: sudo apt-get install espeak-ng";
  elarin::test::TempDir dir;
  elarin::brain::NamingTaskConfig task;
  task.stimuli = {"speech", "text"};
  task.speech_variants = 2;
  task.speech_dev_variants = 1;
  task.text_dev = 0;
  elarin::brain::NamingSources src{"", "", dir.path + "/speech", ""};
  src.audio_samples = 16000;
  auto d = elarin::brain::naming_data(task, src);
  EXPECT_EQ(d.names, elarin::brain::digit_names()) << "speech and text alone name the digits";
  ASSERT_EQ(d.senses.size(), 2u);
  const auto& speech = d.senses[0];
  EXPECT_EQ(speech.port, "audio");
  ASSERT_EQ(speech.items.sizes(), (std::vector<int64_t>{20, 16000}));
  EXPECT_EQ(speech.dev.sizes(), (std::vector<int64_t>{10, 16000}));
  for (int64_t r = 0; r < 20; ++r) EXPECT_EQ(speech.labels[r].item<int64_t>(), r / 2);
  EXPECT_GT(speech.items.abs().max().item<float>(), 0.05f) << "audible";
  EXPECT_FALSE(torch::equal(speech.items[0], speech.items[1])) << "two voices";
  const auto& text = d.senses[1];
  EXPECT_EQ(text.port, "text");
  EXPECT_EQ(text.items.size(1), 32);
  auto seven = elarin::brain::text_row("seven", 32);
  bool found = false;
  for (int64_t r = 0; r < text.items.size(0); ++r)
    if (torch::equal(text.items[r], seven)) found = text.labels[r].item<int64_t>() == 7;
  EXPECT_TRUE(found) << "\"seven\" is shown with label 7";
  EXPECT_EQ(d.stream_size(), 2 * std::max(speech.items.size(0), text.items.size(0)));
}

TEST(NamingStimuli, FashionLabelsFollowTheDigits) {
  const std::string fashion = elarin::kFashionMnistRoot;
  if (!fs::exists(fashion + "/t10k-labels-idx1-ubyte.gz") ||
      !fs::exists(std::string(elarin::kMnistNpmRoot) + "/src/digits/9.json"))
    GTEST_SKIP() << "MNIST or Fashion-MNIST absent";
  elarin::brain::NamingTaskConfig task;
  task.stimuli = {"fashion", "mnist"};
  task.dev_images = 100;
  task.fashion_images = 300;
  elarin::brain::NamingSources src{elarin::kMnistNpmRoot, fashion, "", ""};
  auto d = elarin::brain::naming_data(task, src);
  ASSERT_EQ(d.names.size(), 20u);
  EXPECT_EQ(d.names[10], "t-shirt");
  ASSERT_EQ(d.senses.size(), 2u);
  EXPECT_EQ(d.senses[0].kind, "mnist");
  EXPECT_EQ(d.senses[1].dev.sizes(), (std::vector<int64_t>{100, 784}));
  EXPECT_GE(d.senses[1].labels.min().item<int64_t>(), 10);
  EXPECT_LE(d.senses[1].labels.max().item<int64_t>(), 19);
  EXPECT_EQ(d.senses[1].items.size(0), 300);
}

TEST(NamingStimuli, UnknownStimulusIsAUsageError) {
  elarin::brain::NamingTaskConfig task;
  task.stimuli = {"smell"};
  EXPECT_THROW(elarin::brain::naming_data(task, {}), elarin::UsageError);
  task.stimuli = {};
  EXPECT_THROW(elarin::brain::naming_data(task, {}), elarin::UsageError);
  task.stimuli = {"speech"};
  task.speech_variants = 50;
  task.speech_dev_variants = 20;
  EXPECT_THROW(elarin::brain::naming_data(task, {}), elarin::UsageError);
}

}  // namespace
