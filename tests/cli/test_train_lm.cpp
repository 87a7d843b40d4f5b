// `elarin train lm` end to end on tinyshakespeare (character level, a short run): the final
// JSON line, learning (val loss well under the uniform ln 65), the run directory and its
// checkpoint, the shipped char-baby config, usage errors naming the key; and the schedule.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

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
  ASSERT_EQ(r.code, 0) << r.err;
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
}

TEST(TrainLm, BadSettingsAreUsageErrorsNamingTheKey) {
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << "../shared/data/tinyshakespeare.txt absent";
  for (const auto& [set, key] : std::vector<std::pair<std::string, std::string>>{
           {"lm.model.n_kv_head=3", "lm.model.n_kv_head"},
           {"lm.train.lr_decay_iters=10", "lm.train.lr_decay_iters"},
           {"lm.train.batch_size=0", "lm.train.batch_size"}}) {
    auto r = run_elarin({"train", "lm", "--data", kShakespeare, "--set", set});
    EXPECT_EQ(r.code, 2) << set << ": " << r.err;
    EXPECT_NE(r.err.find(key), std::string::npos) << r.err;
  }
  auto r = run_elarin({"train", "lm", "--data", "/no/such/file.txt"});
  EXPECT_EQ(r.code, 2) << r.err;
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
