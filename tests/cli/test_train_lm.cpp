// `elarin train lm` end to end on tinyshakespeare (character level, a short run): the final
// JSON line, learning (val loss well under the uniform ln 65), the run directory and its
// checkpoint, the shipped char-baby config, usage errors naming the key; exact resume; and
// the schedule.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/run_binary.hpp"
#include "elarin/core/checkpoint.hpp"
#include "elarin/models/elara/lm_trainer.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using elarin::test::run_elarin;

namespace {

const std::string kShakespeare = std::string(ELARIN_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt";

TEST(TrainLm, CharBabyConfigLearnsAndSavesItsRun) {
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << "../shared/data/tinyshakespeare.txt absent";
  elarin::test::TempDir dir;
  // The shipped nanoGPT config, cut to 150 iterations (eval at 0, 100, 150).
  auto r = run_elarin({"train", "lm", "--config",
                       std::string(ELARIN_SOURCE_DIR) + "/configs/lm/char-baby.yaml", "--data",
                       kShakespeare, "--json", "--run", "t", "--set", "lm.train.max_iters=150",
                       "--set", "lm.train.lr_decay_iters=150", "--set",
                       "lm.train.eval_interval=100", "--set", "log.runs_dir=" + dir.path});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  for (const char* key : {"val_loss", "train_loss", "tokens_per_s", "seconds"})
    EXPECT_TRUE(j.contains(key)) << key << " missing from " << j.dump();
  EXPECT_EQ(j["vocab_size"].get<int>(), 65);
  // Uniform guessing is ln 65 = 4.17; 150 steps of the nanoGPT recipe reach ~2.5.
  EXPECT_LT(j["val_loss"].get<double>(), 3.0) << j.dump();
  EXPECT_GT(j["tokens_per_s"].get<double>(), 0.0);
  EXPECT_NE(r.err.find("iter 10: loss"), std::string::npos) << "nanoGPT-style log line missing";
  EXPECT_NE(r.err.find("step 150: train loss"), std::string::npos);
  std::ifstream metrics(dir.path + "/t/metrics.jsonl");
  int evals = 0;
  for (std::string line; std::getline(metrics, line);)
    if (nlohmann::json::parse(line).contains("val/loss")) ++evals;
  EXPECT_EQ(evals, 3);
  auto ck = elarin::load_checkpoint(dir.path + "/t/model.safetensors");
  EXPECT_EQ(ck.metadata.at("elarin.iter"), "150");
  EXPECT_EQ(ck.config["lm"]["model"]["n_embd"].get<int>(), 128);
  EXPECT_EQ(ck.tensors.at("embed_tokens.weight").size(0), 65);

  // `elarin sample` reads the run back: the prompt comes first, then max_new_tokens more;
  // greedy decoding and seeded sampling repeat themselves; a different seed differs.
  auto sample = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"sample", "--checkpoint", dir.path + "/t/model.safetensors",
                                  "--prompt", "ROMEO:", "--max_new_tokens", "40", "--json"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto s = run_elarin(a);
    EXPECT_EQ(s.code, 0) << s.err_tail();
    return nlohmann::json::parse(s.last_line());
  };
  auto g1 = sample({"--temperature", "0"}), g2 = sample({"--temperature", "0"});
  EXPECT_EQ(g1["ids"].size(), 46u);
  EXPECT_EQ(g1["text"].get<std::string>().rfind("ROMEO:", 0), 0u) << g1.dump();
  EXPECT_EQ(g1["ids"], g2["ids"]);
  auto s1 = sample({"--seed", "3"}), s2 = sample({"--seed", "3"}), s3 = sample({"--seed", "4"});
  EXPECT_EQ(s1["ids"], s2["ids"]);
  EXPECT_NE(s1["ids"], s3["ids"]);
}

TEST(TrainLm, BadSettingsAreUsageErrorsNamingTheKey) {
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << "../shared/data/tinyshakespeare.txt absent";
  for (const auto& [set, key] : std::vector<std::pair<std::string, std::string>>{
           {"lm.model.n_kv_head=3", "lm.model.n_kv_head"},
           {"lm.train.lr_decay_iters=10", "lm.train.lr_decay_iters"},
           {"lm.train.batch_size=0", "lm.train.batch_size"},
           {"lm.train.draft_target=soft", "lm.train.draft_target"}}) {
    auto r = run_elarin({"train", "lm", "--data", kShakespeare, "--set", set});
    EXPECT_EQ(r.code, 2) << set << ": " << r.err_tail();
    EXPECT_NE(r.err.find(key), std::string::npos) << r.err_tail();
  }
  auto r = run_elarin({"train", "lm", "--data", "/no/such/file.txt"});
  EXPECT_EQ(r.code, 2) << r.err_tail();
}

// Per-iteration training losses from a run's metrics.jsonl.
std::map<int64_t, double> batch_losses(const std::string& path) {
  std::map<int64_t, double> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("train/batch_loss")) out[j["step"].get<int64_t>()] = j["train/batch_loss"];
  }
  return out;
}

TEST(TrainLm, ResumeReproducesAnUninterruptedRun) {
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << "../shared/data/tinyshakespeare.txt absent";
  elarin::test::TempDir dir;
  auto args = [&](const std::string& run, int iters) {
    return std::vector<std::string>{
        "train", "lm", "--data", kShakespeare, "--json", "--run", run, "--set",
        "lm.train.max_iters=" + std::to_string(iters), "--set", "lm.train.eval_interval=15",
        "--set", "lm.train.eval_iters=3", "--set", "lm.train.log_interval=1", "--set",
        "lm.train.warmup_iters=5", "--set", "lm.train.lr_decay_iters=30", "--set",
        "lm.model.n_embd=32", "--set", "lm.model.n_layer=2", "--set",
        "log.runs_dir=" + dir.path};
  };
  auto full = run_elarin(args("full", 30));
  ASSERT_EQ(full.code, 0) << full.err_tail();
  auto part = run_elarin(args("part", 15));  // stops after the evaluation at 15
  ASSERT_EQ(part.code, 0) << part.err_tail();
  auto more = args("part", 30);
  more.push_back("--resume");
  auto resumed = run_elarin(more);
  ASSERT_EQ(resumed.code, 0) << resumed.err_tail();
  EXPECT_NE(resumed.err.find("resumed"), std::string::npos) << resumed.err_tail();
  auto a = batch_losses(dir.path + "/full/metrics.jsonl");
  auto b = batch_losses(dir.path + "/part/metrics.jsonl");
  ASSERT_EQ(a.size(), 30u);
  ASSERT_EQ(b.size(), 30u);
  // Bit-identical on a quiet machine; 1e-5 leaves room for a reduction split differently
  // (a different batch after a wrong resume moves the loss by ~1e-2 or more).
  for (const auto& [it, loss] : a) EXPECT_NEAR(b.at(it), loss, 1e-5) << "iteration " << it;
  auto ja = nlohmann::json::parse(full.last_line()), jb = nlohmann::json::parse(resumed.last_line());
  EXPECT_NEAR(ja["val_loss"].get<double>(), jb["val_loss"].get<double>(), 1e-5);
  EXPECT_EQ(ja["tokens"].get<int64_t>(), jb["tokens"].get<int64_t>());
  // A run that is not resumed would start again: its first losses differ from the resumed ones.
  EXPECT_NE(a.at(15), a.at(0));

  // --resume without a checkpoint, or with another model shape, is refused by name.
  auto none = args("nothing", 30);
  none.push_back("--resume");
  auto r = run_elarin(none);
  EXPECT_EQ(r.code, 2) << r.err_tail();
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err_tail();
  auto other = args("part", 30);
  other.push_back("--resume");
  other.push_back("--set");
  other.push_back("lm.model.n_embd=64");
  r = run_elarin(other);
  EXPECT_EQ(r.code, 1) << r.err_tail();
  EXPECT_NE(r.err.find("shape"), std::string::npos) << r.err_tail();
}

TEST(TrainLm, ScheduleIsNanoGpts) {
  elarin::models::LmTrainConfig t;  // lr 1e-3 -> 1e-4, warmup 100, decay to 2000
  EXPECT_NEAR(elarin::models::lm_learning_rate(t, 0), 1e-3 / 101, 1e-12);
  EXPECT_NEAR(elarin::models::lm_learning_rate(t, 99), 1e-3 * 100 / 101, 1e-12);
  EXPECT_NEAR(elarin::models::lm_learning_rate(t, 100), 1e-3, 1e-12);
  EXPECT_NEAR(elarin::models::lm_learning_rate(t, 1050), (1e-3 + 1e-4) / 2, 1e-12);
  EXPECT_NEAR(elarin::models::lm_learning_rate(t, 2000), 1e-4, 1e-12);
  EXPECT_NEAR(elarin::models::lm_learning_rate(t, 5000), 1e-4, 1e-12);
}

}  // namespace

namespace {

// A short char-baby-draft run, read back by `bench lm` and `sample --mode draft`: draft-and-
// verify's greedy output is AR's (bench lm compares them and reports it), with the JSON keys
// the benchmarks quote, and acceptance is a rate.
TEST(TrainLm, DraftRunBenchesAndSamplesLikeAr) {
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << "../shared/data/tinyshakespeare.txt absent";
  elarin::test::TempDir dir;
  auto r = run_elarin({"train", "lm", "--config",
                       std::string(ELARIN_SOURCE_DIR) + "/configs/lm/char-baby-draft.yaml",
                       "--data", kShakespeare, "--json", "--run", "d", "--set",
                       "lm.train.max_iters=120", "--set", "lm.train.lr_decay_iters=120", "--set",
                       "lm.train.eval_interval=120", "--set", "lm.train.eval_iters=2", "--set",
                       "log.runs_dir=" + dir.path});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  const std::string ck = dir.path + "/d/model.safetensors";
  auto b = run_elarin({"--threads", "1", "bench", "lm", "--checkpoint", ck, "--rounds", "1",
                       "--train-steps", "1", "--json"});
  ASSERT_EQ(b.code, 0) << b.err_tail();
  auto j = nlohmann::json::parse(b.last_line());
  for (const char* key : {"ar_tokens_per_s", "draft_tokens_per_s", "draft_speedup", "acceptance_rate",
                          "draft_passes", "ar_ms_per_token", "draft_ms_per_pass", "new_tokens"})
    EXPECT_TRUE(j.contains(key)) << key << " missing from " << j.dump();
  EXPECT_TRUE(j["same_output"].get<bool>()) << j.dump();
  EXPECT_EQ(j["new_tokens"].get<int>(), 64 - 7);  // "ROMEO:\n" is 7 characters
  const double a = j["acceptance_rate"].get<double>();
  EXPECT_GE(a, 0.0);
  EXPECT_LE(a, 1.0);
  // Each pass decides at least one token.
  EXPECT_GT(j["draft_passes"].get<int>(), 0);
  EXPECT_LE(j["draft_passes"].get<int>(), 57);

  auto sample = [&](const std::string& mode) {
    auto s = run_elarin({"sample", "--checkpoint", ck, "--prompt", "JULIET:", "--max_new_tokens",
                         "50", "--temperature", "0", "--mode", mode, "--json"});
    EXPECT_EQ(s.code, 0) << s.err_tail();
    return nlohmann::json::parse(s.last_line());
  };
  auto ar = sample("ar"), draft = sample("draft");
  EXPECT_EQ(ar["ids"], draft["ids"]);
  EXPECT_EQ(ar["ids"].size(), 57u);
}

}  // namespace
