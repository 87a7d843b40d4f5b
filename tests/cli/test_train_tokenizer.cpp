// `elarin train tokenizer` end to end: a folder of text through spm_train, the JSON line, the
// model read back with the right piece count and user symbols, and usage errors (exit 2)
// that name the bad value.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli/run_binary.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/data/sentencepiece.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using elarin::test::run_elarin;

const std::string kShakespeare =
    std::string(ELARIN_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt";

TEST(TrainTokenizer, BadFlagsExitTwoNamingTheValue) {
  elarin::test::TempDir dir;
  const std::string out = dir.path + "/tok";
  auto r = run_elarin(
      {"train", "tokenizer", "--input", dir.path, "--output", out, "--model_type", "wordpiece"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("'wordpiece'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unigram | bpe"), std::string::npos) << r.err;
  r = run_elarin({"train", "tokenizer", "--input", dir.path, "--output", out, "--vocab_size", "2",
                  "--byte_fallback"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--vocab_size: got 2"), std::string::npos) << r.err;
  r = run_elarin(
      {"train", "tokenizer", "--input", dir.path, "--output", out, "--user_symbols", "<A>,,<B>"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--user_symbols"), std::string::npos) << r.err;
  r = run_elarin({"train", "tokenizer", "--input", dir.path + "/missing", "--output", out});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(TrainTokenizer, FolderToModelWithItsPieceCount) {
  if (std::system("command -v spm_train >/dev/null") != 0) GTEST_SKIP() << "spm_train absent";
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << kShakespeare << " absent";
  elarin::test::TempDir dir;
  // A folder of two files: half of tinyshakespeare, and text with control characters, tabs
  // and an over-long line, which the cleaning must handle.
  const std::string text = elarin::read_file(kShakespeare).substr(0, 300000);
  fs::create_directories(dir.path + "/corpus/sub");
  std::ofstream(dir.path + "/corpus/a.txt") << text;
  std::string odd = "tabs\tand \x01 controls\n";
  while (odd.size() < 6000) odd += "long line ";
  std::ofstream(dir.path + "/corpus/sub/b.txt") << odd << "\n";
  const std::string out = dir.path + "/models/tok";
  auto r = run_elarin({"train", "tokenizer", "--input", dir.path + "/corpus", "--output", out,
                       "--vocab_size", "600", "--model_type", "bpe", "--byte_fallback",
                       "--user_symbols", "<INST>,<INP>,<RESP>,<SEP>", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["pieces"].get<int>(), 600) << j.dump();
  EXPECT_EQ(j["model"].get<std::string>(), out + ".model");
  EXPECT_EQ(j["records"].get<int>(), 2);
  EXPECT_EQ(j["split_lines"].get<int>(), 1);
  EXPECT_EQ(j["removed_chars"].get<int>(), 1);
  EXPECT_GT(j["seconds"].get<double>(), 0.0);
  EXPECT_NE(r.out.find("600 pieces"), std::string::npos) << r.out;
  const auto tok = elarin::SentencePieceTokenizer::load(out + ".model");
  EXPECT_EQ(tok.vocab_size(), 600);
  EXPECT_EQ(tok.model_type(), "bpe");
  EXPECT_TRUE(tok.byte_fallback());
  EXPECT_EQ(tok.encode("<RESP>"),
            (std::vector<int64_t>{tok.piece_to_id("\xe2\x96\x81"), tok.piece_to_id("<RESP>")}));
  EXPECT_TRUE(fs::exists(out + ".vocab"));
  // Only the two outputs: no temporary corpus, model or log left beside them.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path + "/models")) {
    ++files;
    EXPECT_TRUE(e.path() == out + ".model" || e.path() == out + ".vocab") << e.path();
  }
  EXPECT_EQ(files, 2);
}

}  // namespace
