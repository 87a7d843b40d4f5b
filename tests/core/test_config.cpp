// Config: defaults, YAML files, --set overrides, and errors that name the key and origin.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>
#include <nlohmann/json.hpp>

#include "elarin/cli/app_config.hpp"
#include "elarin/core/config.hpp"
#include "elarin/core/errors.hpp"

namespace {

struct TrainSection {
  int epochs = 3;
  double lr = 1e-3;
  bool shuffle = true;
  std::string name = "run";
  std::vector<int64_t> schedule = {1, 3, 6};
  template <class V>
  void visit(V& v) {
    v("epochs", epochs, "passes");
    v("lr", lr, "learning rate");
    v("shuffle", shuffle, "shuffle each epoch");
    v("name", name, "run name");
    v("schedule", schedule, "growth schedule");
  }
};

// A YAML file in the temp directory, removed when the test process exits.
std::string temp_yaml(const std::string& text) {
  struct Files {
    std::vector<std::filesystem::path> paths;
    ~Files() {
      std::error_code ec;
      for (const auto& p : paths) std::filesystem::remove(p, ec);
    }
  };
  static Files files;
  static int n = 0;
  auto path = std::filesystem::temp_directory_path() /
              ("elarin_cfg_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".yaml");
  std::ofstream(path) << text;
  files.paths.push_back(path);
  return path.string();
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const elarin::UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, DefaultsThenFileThenSet) {
  TrainSection t;
  elarin::Config cfg;
  cfg.add("train", t);
  EXPECT_EQ(t.epochs, 3);
  cfg.load_file(temp_yaml("train:\n  epochs: 7\n  lr: 0.5\n  schedule: [2, 4]\n"));
  EXPECT_EQ(t.epochs, 7);
  EXPECT_DOUBLE_EQ(t.lr, 0.5);
  EXPECT_EQ(t.schedule, (std::vector<int64_t>{2, 4}));
  cfg.set("train.epochs=9");
  cfg.set("train.name=hello world");
  cfg.set("train.shuffle=false");
  cfg.set("train.schedule=[5]");
  EXPECT_EQ(t.epochs, 9);
  EXPECT_EQ(t.name, "hello world");
  EXPECT_FALSE(t.shuffle);
  EXPECT_EQ(t.schedule, (std::vector<int64_t>{5}));
}

TEST(Config, UnknownKeyNamesKeyFileAndHint) {
  TrainSection t;
  elarin::Config cfg;
  cfg.add("train", t);
  std::string path = temp_yaml("train:\n  epoch: 7\n");
  std::string msg = error_of([&] { cfg.load_file(path); });
  EXPECT_NE(msg.find("unknown key 'train.epoch'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'train.epochs'"), std::string::npos) << msg;
  msg = error_of([&] { cfg.set("nope.x=1"); });
  EXPECT_NE(msg.find("--set nope.x=1: unknown key 'nope.x'"), std::string::npos) << msg;
}

TEST(Config, BadTypeNamesKeyAndExpectedType) {
  TrainSection t;
  elarin::Config cfg;
  cfg.add("train", t);
  std::string path = temp_yaml("train:\n  epochs: three\n");
  std::string msg = error_of([&] { cfg.load_file(path); });
  EXPECT_NE(msg.find(path + ": key 'train.epochs': expected an integer, got 'three'"),
            std::string::npos)
      << msg;
  msg = error_of([&] { cfg.set("train.lr=fast"); });
  EXPECT_NE(msg.find("key 'train.lr': expected a number, got 'fast'"), std::string::npos) << msg;
  msg = error_of([&] { cfg.set("train.shuffle=yes please"); });
  EXPECT_NE(msg.find("expected true or false"), std::string::npos) << msg;
  msg = error_of([&] { cfg.set("train.epochs=1.5"); });
  EXPECT_NE(msg.find("expected an integer, got '1.5'"), std::string::npos) << msg;
  msg = error_of([&] { cfg.set("train.schedule=[1, x]"); });
  EXPECT_NE(msg.find("expected a list of integers"), std::string::npos) << msg;
  msg = error_of([&] { cfg.set("train.epochs"); });
  EXPECT_NE(msg.find("expected key=value"), std::string::npos) << msg;
}

TEST(Config, FailedLoadChangesNothing) {
  TrainSection t;
  elarin::Config cfg;
  cfg.add("train", t);
  // The valid first key must not be committed when the second is bad.
  EXPECT_THROW(cfg.load_file(temp_yaml("train:\n  epochs: 11\n  lr: oops\n")), elarin::UsageError);
  EXPECT_EQ(t.epochs, 3);
  EXPECT_THROW(cfg.set_all({"train.epochs=12", "train.bogus=1"}), elarin::UsageError);
  EXPECT_EQ(t.epochs, 3);
}

TEST(Config, InvalidYamlAndMissingFile) {
  TrainSection t;
  elarin::Config cfg;
  cfg.add("train", t);
  std::string path = temp_yaml("train: [unclosed\n");
  std::string msg = error_of([&] { cfg.load_file(path); });
  EXPECT_NE(msg.find(path + ": invalid YAML at line"), std::string::npos) << msg;
  EXPECT_THROW(cfg.load_file("/nonexistent/x.yaml"), elarin::Error);
  msg = error_of([&] { cfg.load_string("- a\n- b\n", "inline"); });
  EXPECT_NE(msg.find("inline: expected a mapping"), std::string::npos) << msg;
}

TEST(Config, ResolvedJsonAndYamlRoundTrip) {
  TrainSection t;
  elarin::Config cfg;
  cfg.add("train", t);
  cfg.set("train.epochs=4");
  nlohmann::json j = cfg.to_json();
  EXPECT_EQ(j["train"]["epochs"], 4);
  EXPECT_EQ(j["train"]["schedule"], nlohmann::json::array({1, 3, 6}));
  // The printed YAML, loaded into fresh defaults, reproduces the resolved values.
  TrainSection t2;
  t2.epochs = 100;
  elarin::Config cfg2;
  cfg2.add("train", t2);
  cfg2.load_string(cfg.to_yaml(), "resolved");
  EXPECT_EQ(cfg2.to_json(), j);
}

TEST(Config, AppConfigLoadsCommittedDefaultYaml) {
  elarin::AppConfig app;
  app.load(std::string(ELARIN_SOURCE_DIR) + "/configs/default.yaml", {"runtime.threads=2"});
  EXPECT_EQ(app.runtime.threads, 2);
  EXPECT_EQ(app.config.help("runtime.threads"), "worker threads; 0 = all cores");
  EXPECT_THROW(app.config.bind("runtime.threads", &app.runtime.threads, "again"), elarin::Error);
}

}  // namespace
