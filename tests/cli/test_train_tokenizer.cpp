// `elarin train tokenizer` end to end: a folder of text through spm_train, the JSON line, the
// model read back with the right piece count and user symbols, and usage errors (exit 2)
// that name the bad value. Then `train lm --tokenizer`: the LM on SentencePiece ids.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/run_binary.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/checkpoint.hpp"
#include "elarin/data/sentencepiece.hpp"
#include "elarin/data/sentencepiece_trainer.hpp"
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
  EXPECT_EQ(r.code, 2) << r.err_tail();
  EXPECT_NE(r.err.find("'wordpiece'"), std::string::npos) << r.err_tail();
  EXPECT_NE(r.err.find("unigram | bpe"), std::string::npos) << r.err_tail();
  r = run_elarin({"train", "tokenizer", "--input", dir.path, "--output", out, "--vocab_size", "2",
                  "--byte_fallback"});
  EXPECT_EQ(r.code, 2) << r.err_tail();
  EXPECT_NE(r.err.find("--vocab_size: got 2"), std::string::npos) << r.err_tail();
  r = run_elarin(
      {"train", "tokenizer", "--input", dir.path, "--output", out, "--user_symbols", "<A>,,<B>"});
  EXPECT_EQ(r.code, 2) << r.err_tail();
  EXPECT_NE(r.err.find("--user_symbols"), std::string::npos) << r.err_tail();
  r = run_elarin({"train", "tokenizer", "--input", dir.path + "/missing", "--output", out});
  EXPECT_EQ(r.code, 1) << r.err_tail();
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err_tail();
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
  ASSERT_EQ(r.code, 0) << r.err_tail();
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

TEST(TrainTokenizer, TrainLmOnSentencePieceIds) {
  if (std::system("command -v spm_train >/dev/null") != 0) GTEST_SKIP() << "spm_train absent";
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << kShakespeare << " absent";
  elarin::test::TempDir dir;
  const std::string text = elarin::read_file(kShakespeare).substr(0, 200000);
  const std::string data = dir.path + "/text.txt";
  std::ofstream(data) << text;
  elarin::SpmTrainOptions o;
  o.output_prefix = dir.path + "/tok";
  o.vocab_size = 300;
  o.model_type = "bpe";
  o.num_threads = 2;
  const std::string model = elarin::train_sentencepiece({text}, o).model_path;
  auto args = [&](const std::string& tokenizer, bool resume) {
    std::vector<std::string> a = {"train", "lm", "--data", data, "--json", "--run", "t"};
    for (const std::string& kv : std::vector<std::string>{
             "lm.train.max_iters=150", "lm.train.eval_interval=75", "lm.train.eval_iters=3",
             "lm.train.warmup_iters=5", "lm.train.lr_decay_iters=150", "lm.train.lr=0.003",
             "lm.model.n_embd=32", "lm.model.n_layer=1", "lm.model.block_size=32",
             "log.runs_dir=" + dir.path})
      a.insert(a.end(), {"--set", kv});
    if (!tokenizer.empty()) a.insert(a.end(), {"--tokenizer", tokenizer});
    if (resume) a.push_back("--resume");
    return a;
  };
  auto r = run_elarin(args(model, false));
  ASSERT_EQ(r.code, 0) << r.err_tail();
  const auto j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["vocab_size"].get<int>(), 300) << j.dump();
  EXPECT_EQ(j["tokenizer"].get<std::string>(), "sentencepiece");
  // Uniform guessing over 300 pieces is ln 300 = 5.70; 150 steps must have learned something.
  EXPECT_LT(j["val_loss"].get<double>(), std::log(300.0) - 0.5) << j.dump();
  // The id stream: each line as spm_encode gives it, then </s>.
  const auto tok = elarin::SentencePieceTokenizer::load(model);
  std::istringstream in(text);
  int64_t expected = 0;
  for (std::string line; std::getline(in, line);) expected += int64_t(tok.encode(line).size()) + 1;
  EXPECT_NE(r.err.find("train lm: " + std::to_string(expected) + " tokens (sentencepiece)"),
            std::string::npos)
      << "expected " << expected << " tokens in: " << r.err_tail();
  auto ck = elarin::load_checkpoint(dir.path + "/t/model.safetensors");
  EXPECT_EQ(ck.metadata.at("elarin.tokenizer"), "sentencepiece");
  EXPECT_EQ(ck.metadata.at("elarin.tokenizer_model"), fs::absolute(model).string());
  EXPECT_EQ(ck.metadata.count("elarin.vocab"), 0u);
  EXPECT_EQ(ck.tensors.at("embed_tokens.weight").size(0), 300);
  // Resuming needs the same tokenizer.
  auto wrong = run_elarin(args("", true));
  EXPECT_EQ(wrong.code, 2) << wrong.err_tail();
  EXPECT_NE(wrong.err.find("'sentencepiece' tokens"), std::string::npos) << wrong.err_tail();
  // `sample` reads the run back with its SentencePiece model: the prompt's ids are the
  // line's pieces then </s>, and the text decodes </s> back to a line break.
  auto s = run_elarin({"sample", "--checkpoint", dir.path + "/t/model.safetensors", "--prompt",
                       "ROMEO:\n", "--temperature", "0", "--max_new_tokens", "8", "--json"});
  ASSERT_EQ(s.code, 0) << s.err_tail();
  const auto sj = nlohmann::json::parse(s.last_line());
  auto prompt_ids = tok.encode("ROMEO:");
  prompt_ids.push_back(tok.eos_id());
  const auto ids = sj["ids"].get<std::vector<int64_t>>();
  ASSERT_EQ(ids.size(), prompt_ids.size() + 8) << sj.dump();
  EXPECT_TRUE(std::equal(prompt_ids.begin(), prompt_ids.end(), ids.begin())) << sj.dump();
  EXPECT_EQ(sj["text"].get<std::string>().rfind("ROMEO:\n", 0), 0u) << sj.dump();
  // A tokenizer changed since training is refused, naming the file.
  std::ofstream(model, std::ios::app) << "x";
  auto changed = run_elarin(
      {"sample", "--checkpoint", dir.path + "/t/model.safetensors", "--prompt", "ROMEO:"});
  EXPECT_EQ(changed.code, 1) << changed.err_tail();
  EXPECT_NE(changed.err.find("has changed since training"), std::string::npos) << changed.err_tail();
}

}  // namespace
