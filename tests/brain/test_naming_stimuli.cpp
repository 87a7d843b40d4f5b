// The naming task's stimuli and stream: the written forms of a name; text rows; the stream
// gives each sense one episode per block and cycles through each sense's items; the MNIST
// stream reorders exactly as a plain shuffle of the digits; spoken words go word-major to
// the stream and the kept-apart variants to development; Fashion-MNIST labels follow the
// digits'; unknown stimuli and missing ports are usage errors; the parity rule puts a cue and
// distractors before each digit and the cue sets the digit's label.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/image_dataset.hpp"
#include "elarin/data/text_corpus.hpp"
#include "brain_test_util.hpp"
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

// The parity rule's stream: a cue, 0..gap_max distractors, then the digit; the cue sets the
// digit's label (number word or odd/even); cues and distractors are never rated.
// The parity rule over senses digits (0), cues (1) and distractors (2).
elarin::brain::NamingRule parity_rule(int64_t gap_max, int64_t odd, int64_t even) {
  elarin::brain::NamingRule r;
  r.name = "parity";
  r.gap_max = gap_max;
  r.cue_sense = 1;
  r.distractor_sense = 2;
  r.odd = odd;
  r.even = even;
  return r;
}

TEST(NamingStimuli, RuleStreamPutsACueAndDistractorsBeforeEachDigitAndTheCueSetsItsLabel) {
  NamingData d;
  d.senses = {sense("mnist", 50), sense("cue", 4), sense("distractor", 30)};
  d.senses[0].labels = torch::arange(50, torch::kLong) % 10;
  d.senses[1].labels = torch::tensor({0, 0, 1, 1}, torch::kLong);  // number, number, parity..
  d.senses[1].rated = d.senses[2].rated = false;
  d.rule = parity_rule(3, 10, 11);
  auto gen = at::detail::createCPUGenerator(3);
  elarin::brain::build_stream(d, {torch::arange(50), torch::arange(4), torch::arange(30)}, &gen);
  const int64_t n = d.stream_size();
  int64_t digits = 0, parity = 0, cue_item = -1, gap = -1;
  std::set<int64_t> gaps;
  for (int64_t e = 0; e < n; ++e) {
    const int64_t s = d.stream_sense[e].item<int64_t>(), item = d.stream_item[e].item<int64_t>();
    const int64_t label = d.stream_label[e].item<int64_t>(), cue = d.stream_cue[e].item<int64_t>();
    if (s == 1) {
      ASSERT_EQ(gap, -1) << "episode " << e << ": a cue before the last cue's digit";
      EXPECT_EQ(label, -1);
      cue_item = item;
      gap = 0;
    } else if (s == 2) {
      ASSERT_GE(gap, 0) << "episode " << e << ": a distractor outside a trial";
      EXPECT_EQ(label, -1);
      ++gap;
    } else {
      ASSERT_GE(gap, 0) << "episode " << e << ": a digit without its cue";
      gaps.insert(gap);
      const int64_t rule = d.senses[1].labels[cue_item].item<int64_t>();
      EXPECT_EQ(cue, rule);
      const int64_t digit = item % 10;
      EXPECT_EQ(label, rule == 0 ? digit : digit % 2 ? 10 : 11) << "episode " << e;
      parity += rule;
      ++digits;
      gap = -1;
    }
  }
  EXPECT_EQ(digits, 50 * elarin::brain::kRulePasses) << "each digit once per pass";
  EXPECT_EQ(gaps, (std::set<int64_t>{0, 1, 2, 3})) << "every gap 0..gap_max occurs";
  EXPECT_GT(parity, 60);
  EXPECT_LT(parity, 140) << "the rule is drawn at random";
  // A digit seen again in a later pass comes with a cue drawn anew.
  int64_t same = 0;
  std::vector<int64_t> first_cue(50, -1);
  for (int64_t e = 0; e < n; ++e) {
    if (d.stream_sense[e].item<int64_t>() != 0) continue;
    const int64_t item = d.stream_item[e].item<int64_t>(), cue = d.stream_cue[e].item<int64_t>();
    if (first_cue[item] < 0)
      first_cue[item] = cue;
    else
      same += cue == first_cue[item];
  }
  EXPECT_GT(same, 45);
  EXPECT_LT(same, 105) << "of 150 repeats, about half keep their first cue by chance";
  // Another order draws the trials again.
  auto r = elarin::brain::reorder_stream(d, 9);
  EXPECT_EQ(r.stream_label.ge(0).sum().item<int64_t>(), 50 * elarin::brain::kRulePasses);
  EXPECT_FALSE(r.stream_sense.size(0) == n && torch::equal(r.stream_sense, d.stream_sense));
}

TEST(NamingStimuli, ParityRuleAddsOddEvenAndUnratedCuesOnTheTextPort) {
  if (!fs::exists(std::string(elarin::kMnistNpmRoot) + "/src/digits/9.json") ||
      !fs::exists(elarin::kFortunesDir))
    GTEST_SKIP() << "MNIST or fortunes absent";
  elarin::brain::NamingTaskConfig task;
  task.stimuli = {"mnist"};
  task.dev_images = 100;
  task.rule = "parity";
  task.rule_gap_max = 2;
  task.rule_distractors = 40;
  elarin::brain::NamingSources src{elarin::kMnistNpmRoot, "", "", elarin::kFortunesDir};
  auto d = elarin::brain::naming_data(task, src);
  ASSERT_EQ(d.names.size(), 12u);
  EXPECT_EQ(d.names[10], "odd");
  EXPECT_EQ(d.names[11], "even");
  ASSERT_EQ(d.senses.size(), 3u);
  for (int k : {1, 2}) {
    EXPECT_EQ(d.senses[k].port, "text");
    EXPECT_FALSE(d.senses[k].rated);
  }
  EXPECT_EQ(d.senses[2].items.sizes(), (std::vector<int64_t>{40, 32}));
  EXPECT_TRUE(torch::equal(d.senses[1].items[0], elarin::brain::text_row("number", 32)));
  const auto rated = d.stream_label.ge(0);
  EXPECT_EQ(rated.sum().item<int64_t>(), d.senses[0].items.size(0) * elarin::brain::kRulePasses);
  EXPECT_GT(d.stream_size(), rated.sum().item<int64_t>() * 3 / 2) << "cues and distractors";
  EXPECT_GE(d.stream_label.max().item<int64_t>(), 10) << "some digits are named odd/even";

  task.rule = "colour";
  EXPECT_THROW(elarin::brain::naming_data(task, src), elarin::UsageError);
  task.rule = "parity";
  task.rule_gap_max = -1;
  EXPECT_THROW(elarin::brain::naming_data(task, src), elarin::UsageError);
  task.rule_gap_max = 2;
  task.stimuli = {"text"};
  EXPECT_THROW(elarin::brain::naming_data(task, src), elarin::UsageError) << "needs mnist";
}

// run_naming under a rule: `steps` counts rated episodes (the digits); cues and distractors
// are ticked but never rated, so nothing is stored or learned from them.
TEST(NamingStimuli, RunNamingRatesOnlyTheDigitsOfARuleAndCountsEveryTick) {
  elarin::test::TempDir dir;
  elarin::test::TestBrain setup(dir.path);
  elarin::brain::Brain brain(setup.setup);
  brain.load_or_initialise();
  elarin::test::World world;
  auto gen = at::detail::createCPUGenerator(5);
  NamingData d;
  NamingSense digits = sense("mnist", 50), cues = sense("cue", 4), noise = sense("distractor", 30);
  digits.port = cues.port = noise.port = "vision";
  digits.labels = torch::arange(50, torch::kLong) % 10;
  digits.items = world.protos.index_select(0, digits.labels);
  cues.items = torch::randn({4, 128}, gen);
  cues.labels = torch::tensor({0, 0, 1, 1}, torch::kLong);
  noise.items = torch::randn({30, 128}, gen);
  cues.rated = noise.rated = false;
  d.senses = {digits, cues, noise};
  for (int k = 0; k < 10; ++k) d.names.push_back("p" + std::to_string(k));
  d.rule = parity_rule(2, 1, 0);
  elarin::brain::build_stream(d, {torch::arange(50), torch::arange(4), torch::arange(30)}, &gen);
  elarin::brain::NamingOptions no;
  no.steps = 40;
  no.save_every_s = 0;
  const auto r = elarin::brain::run_naming(brain, d, no);
  int64_t rated = 0, ticks = 0;
  while (rated < 40) rated += d.stream_label[ticks++].item<int64_t>() >= 0;
  EXPECT_EQ(r.episodes, 40);
  EXPECT_EQ(r.right.size(), 40u);
  EXPECT_EQ(r.ticks, ticks);
  EXPECT_GT(r.ticks, 60) << "a cue per digit and distractors";
  EXPECT_EQ(brain.ticks(), ticks);
  EXPECT_EQ(brain.region("hippocampus").state().at("episodes.outcomes").size(0), 40)
      << "only rated episodes are stored";
  EXPECT_EQ(r.accuracy_by_cue.size(), 2u);
  EXPECT_TRUE(r.accuracy_by_cue.count("parity"));
  EXPECT_EQ(r.accuracy_by_sense.size(), 1u) << "cues and distractors have no accuracy";
}


// A teacher in code stands in for the person: one that rates as the critic does gives the same
// run as headless (same answers), on_episode sees every rated episode with its rating and the
// feedback's neuromodulators, and a teacher that ends stops the run before that episode learns.
TEST(NamingStimuli, ATeacherRatesLikeTheCriticAndObserversSeeEveryEpisode) {
  auto data = [] {
    elarin::test::World world;
    NamingData d;
    NamingSense digits = sense("mnist", 50);
    digits.port = "vision";
    digits.labels = torch::arange(50, torch::kLong) % 10;
    digits.items = world.protos.index_select(0, digits.labels);
    d.senses = {digits};
    for (int k = 0; k < 10; ++k) d.names.push_back("p" + std::to_string(k));
    elarin::brain::build_stream(d, {torch::arange(50)}, nullptr);
    return d;
  }();
  auto run = [&](bool headless, int64_t end_at, std::vector<elarin::brain::NamingEpisode>* seen,
                 std::vector<double>* dopamine) {
    elarin::test::TempDir dir;
    elarin::test::TestBrain setup(dir.path);
    elarin::brain::Brain brain(setup.setup);
    brain.load_or_initialise();
    elarin::brain::NamingOptions no;
    no.steps = 30;
    no.save_every_s = 0;
    no.headless = headless;
    no.teacher = [end_at](const elarin::brain::NamingEpisode& e) {
      elarin::brain::NamingRating r;
      r.reward = e.right ? 1.0 : -1.0;
      r.end = e.number == end_at;
      return r;
    };
    no.on_episode = [&](const elarin::brain::NamingEpisode& e, const elarin::brain::NamingRating& r,
                        const elarin::brain::Neuromodulators& m) {
      if (seen) seen->push_back(e);
      EXPECT_EQ(r.reward, e.right ? 1.0 : -1.0);
      EXPECT_EQ(m.reward, r.reward) << "the feedback carried the rating";
      EXPECT_EQ(m.action, e.said) << "the efference copy is the answer rated";
      if (dopamine) dopamine->push_back(m.dopamine);
    };
    return elarin::brain::run_naming(brain, data, no);
  };
  std::vector<elarin::brain::NamingEpisode> seen;
  std::vector<double> dopamine;
  const auto critic = run(true, -1, nullptr, nullptr);
  const auto taught = run(false, -1, &seen, &dopamine);
  EXPECT_EQ(taught.answers, critic.answers) << "the same ratings, the same learning";
  ASSERT_EQ(seen.size(), 30u);
  for (size_t k = 0; k < seen.size(); ++k) {
    EXPECT_EQ(seen[k].number, static_cast<int64_t>(k) + 1);
    EXPECT_EQ(seen[k].said, taught.answers[k]);
    EXPECT_EQ(seen[k].answer, "p" + std::to_string(seen[k].said));
    EXPECT_EQ(seen[k].label, data.senses[0].labels[seen[k].item].item<int64_t>());
    EXPECT_EQ(seen[k].sense, &data.senses[0]);
  }
  EXPECT_TRUE(std::any_of(dopamine.begin(), dopamine.end(), [](double d) { return d != 0; }));
  const auto ended = run(false, 5, nullptr, nullptr);
  EXPECT_EQ(ended.episodes, 4) << "the teacher ended at episode 5: it is not counted";
}

}  // namespace
