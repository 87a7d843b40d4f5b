// Text corpora: the fortune record format, directory walking order and filters, and
// Debian's fortunes as the default English corpus.
#include "elarin/data/text_corpus.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {
namespace fs = std::filesystem;

using elarin::test::TempDir;

TEST(DataTextCorpus, SplitsFortuneRecordsAndStripsOverstrike) {
  const std::string text = "first\n%\n\n  second\nline  \n%\n%\n_\bb_\bo_\bl_\bd text\n%\n";
  const auto r = elarin::split_fortune_records(text);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], "first");
  EXPECT_EQ(r[1], "second\nline");
  EXPECT_EQ(r[2], "bold text");
  // A "%" inside a line is text, not a separator.
  EXPECT_EQ(elarin::split_fortune_records("100% sure\n").size(), 1u);
}

TEST(DataTextCorpus, DirectoryIsSortedAndSkipsHiddenAndBinary) {
  TempDir dir;
  fs::create_directories(dir.path + "/sub");
  fs::create_directories(dir.path + "/.git");
  std::ofstream(dir.path + "/b.txt") << "bee";
  std::ofstream(dir.path + "/a.txt") << "ay";
  std::ofstream(dir.path + "/sub/c.txt") << "sea";
  std::ofstream(dir.path + "/.hidden") << "secret";
  std::ofstream(dir.path + "/.git/config") << "secret";
  std::ofstream(dir.path + "/blob.bin", std::ios::binary) << std::string("x\0y", 3);
  const auto c = elarin::load_text_corpus(dir.path);
  ASSERT_EQ(c.records, (std::vector<std::string>{"ay", "bee", "sea"}));
  EXPECT_EQ(c.sources[2], dir.path + "/sub/c.txt");
  EXPECT_EQ(c.text, "ay\n\nbee\n\nsea");
  // A single file is one record.
  const auto one = elarin::load_text_corpus(dir.path + "/b.txt");
  EXPECT_EQ(one.records, std::vector<std::string>{"bee"});
  EXPECT_THROW(elarin::load_text_corpus(dir.path + "/blob.bin"), elarin::FormatError);
  EXPECT_THROW(elarin::load_text_corpus(dir.path + "/missing"), elarin::Error);
}

TEST(DataTextCorpus, FortunesReadOnlyIndexedFilesOnce) {
  TempDir dir;
  std::ofstream(dir.path + "/jokes") << "one\n%\ntwo\n%\n";
  std::ofstream(dir.path + "/jokes.dat") << "index";
  fs::create_symlink("jokes", dir.path + "/jokes.u8");
  std::ofstream(dir.path + "/README") << "not a fortune file: no .dat\n";
  std::ofstream(dir.path + "/ascii-art") << "|\\_/|\n%\n";
  std::ofstream(dir.path + "/ascii-art.dat") << "index";
  const auto c = elarin::load_fortunes(dir.path);
  EXPECT_EQ(c.records, (std::vector<std::string>{"one", "two"}));
}

TEST(DataTextCorpus, DebianFortunesAreALargeEnglishCorpus) {
  if (!fs::exists(std::string(elarin::kFortunesDir) + "/fortunes.dat")) {
    GTEST_SKIP() << "fortunes absent: sudo apt-get install fortunes";
  }
  const auto c = elarin::load_fortunes();
  EXPECT_GT(c.records.size(), 1000u);
  EXPECT_EQ(c.records.size(), c.sources.size());
  EXPECT_NE(c.text.find("Are you a turtle?"), std::string::npos);
  EXPECT_EQ(c.text.find('\b'), std::string::npos);
  EXPECT_EQ(c.text.find("\n%\n"), std::string::npos);
  for (const auto& s : c.sources) {
    ASSERT_EQ(s.find(".u8"), std::string::npos) << s;
    ASSERT_EQ(s.find("ascii-art"), std::string::npos) << s;
  }
}

TEST(DataTextCorpus, MissingFortunesNameTheAptCommand) {
  try {
    elarin::load_fortunes("/nonexistent/fortunes");
    FAIL() << "expected elarin::Error";
  } catch (const elarin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("`sudo apt-get install fortunes`"), std::string::npos)
        << e.what();
  }
}

}  // namespace
