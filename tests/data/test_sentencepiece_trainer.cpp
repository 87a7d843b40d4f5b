// The spm_train driver: how records are cleaned and cut into sentences, option validation,
// and failures (missing program, spm_train refusing) that must leave an existing model alone.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/sentencepiece_trainer.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using elarin::SpmCleanStats;

std::string clean(const std::string& record, SpmCleanStats* stats = nullptr) {
  SpmCleanStats s;
  std::string out;
  elarin::append_spm_sentences(record, out, s);
  if (stats) *stats = s;
  return out;
}

TEST(SentencePieceTrainer, CleaningDropsControlsAndNormalisesSpaces) {
  SpmCleanStats s;
  // NUL, BEL, ESC, DEL and C1 (U+0085) go; tabs and space runs become one space; lines are
  // trimmed; \r ends a line like \n; empty lines are skipped; UTF-8 text stays as it is.
  const char raw[] =
      "  a\0b\tc  \x07"
      "d\x1b\x7f\n\n\r\n caf\xc3\xa9\xc2\x85 x\t\r\nend";
  EXPECT_EQ(clean(std::string(raw, sizeof raw - 1), &s), "ab c d\ncaf\xc3\xa9 x\nend\n");
  EXPECT_EQ(s.sentences, 3);
  EXPECT_EQ(s.removed_chars, 5);
  EXPECT_EQ(s.split_lines, 0);
  // Malformed UTF-8 bytes are removed and counted, the characters around them kept.
  EXPECT_EQ(clean("ok \xff\xc3 done", &s), "ok done\n");
  EXPECT_EQ(s.removed_chars, 2);
  EXPECT_EQ(clean(" \t \n\n"), "");
}

TEST(SentencePieceTrainer, LongLinesAreSplitAtSpacesNotDropped) {
  std::string words;
  while (words.size() < 10000) words += "word" + std::to_string(words.size()) + " ";
  words.pop_back();
  SpmCleanStats s;
  const std::string out = clean(words, &s);
  std::istringstream in(out);
  std::string joined;
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    EXPECT_LE(line.size(), elarin::kSpmMaxSentenceBytes);
    EXPECT_NE(line.front(), ' ');
    EXPECT_NE(line.back(), ' ');
    joined += (joined.empty() ? "" : " ") + line;
  }
  EXPECT_EQ(lines, 3);
  EXPECT_EQ(s.split_lines, 1);
  EXPECT_EQ(s.sentences, 3);
  EXPECT_EQ(joined, words);  // nothing lost
  // No space at all: cut at a character boundary (é is two bytes).
  std::string dense;
  while (dense.size() < 9000) dense += "\xc3\xa9";
  const std::string cut = clean(dense, &s);
  std::istringstream in2(cut);
  std::string all;
  for (std::string line; std::getline(in2, line);) {
    EXPECT_LE(line.size(), elarin::kSpmMaxSentenceBytes);
    EXPECT_EQ(line.size() % 2, 0u) << "cut inside a character";
    all += line;
  }
  EXPECT_EQ(all, dense);
  EXPECT_EQ(s.sentences, 3);
}

TEST(SentencePieceTrainer, ValidateNamesTheBadValue) {
  auto message = [](const elarin::SpmTrainOptions& o) {
    return elarin::test::error_message<elarin::UsageError>([&] { elarin::validate(o); });
  };
  elarin::SpmTrainOptions o;
  o.output_prefix = "/tmp/x";
  EXPECT_NO_THROW(elarin::validate(o));
  auto bad = o;
  bad.model_type = "word";
  EXPECT_NE(message(bad).find("'word', expected unigram | bpe"), std::string::npos);
  bad = o;
  bad.vocab_size = 0;
  EXPECT_NE(message(bad).find("got 0"), std::string::npos);
  bad = o;
  bad.byte_fallback = true;
  bad.vocab_size = 200;  // 3 + 256 are reserved
  EXPECT_NE(message(bad).find("256 bytes"), std::string::npos) << message(bad);
  bad = o;
  bad.user_symbols = {"<A>", ""};
  EXPECT_NE(message(bad).find("empty symbol"), std::string::npos);
  bad.user_symbols = {"<A> <B>"};
  EXPECT_NE(message(bad).find("'<A> <B>'"), std::string::npos);
  bad.user_symbols = {"<A>", "<A>"};
  EXPECT_NE(message(bad).find("given twice"), std::string::npos);
  bad = o;
  bad.output_prefix = "";
  EXPECT_NE(message(bad).find("--output"), std::string::npos);
}

TEST(SentencePieceTrainer, MissingProgramNamesTheAptPackage) {
  elarin::test::TempDir dir;
  elarin::SpmTrainOptions o;
  o.output_prefix = dir.path + "/tok";
  o.program = "elarin-no-such-spm_train";
  const auto msg = elarin::test::error_message<elarin::Error>(
      [&] { elarin::train_sentencepiece({"some text"}, o); });
  EXPECT_NE(msg.find("apt-get install sentencepiece"), std::string::npos) << msg;
  EXPECT_TRUE(fs::is_empty(dir.path)) << "left files behind";
}

TEST(SentencePieceTrainer, SpmTrainFailureKeepsTheOldModel) {
  if (std::system("command -v spm_train >/dev/null") != 0) GTEST_SKIP() << "spm_train absent";
  elarin::test::TempDir dir;
  const std::string prefix = dir.path + "/tok";
  std::ofstream(prefix + ".model") << "old model";
  elarin::SpmTrainOptions o;
  o.output_prefix = prefix;
  o.vocab_size = 5000;  // far more than a few words can give: spm_train refuses
  o.num_threads = 1;
  const auto msg = elarin::test::error_message<elarin::Error>(
      [&] { elarin::train_sentencepiece({"a few words\nand a few more"}, o); });
  EXPECT_NE(msg.find("spm_train failed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ocabulary size"), std::string::npos) << "spm_train's reason missing: " << msg;
  EXPECT_EQ(elarin::read_file(prefix + ".model"), "old model");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) files += e.path() != prefix + ".model";
  EXPECT_EQ(files, 0) << "temporary files left behind";
  // Only whitespace and control characters: nothing to train on.
  const auto empty = elarin::test::error_message<elarin::Error>(
      [&] { elarin::train_sentencepiece({" \x01\n\t\n"}, o); });
  EXPECT_NE(empty.find("no text"), std::string::npos) << empty;
}

}  // namespace
