// Config: defaults, YAML files, --set overrides, errors that name the key and origin, declared
// constraints and renamed keys.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

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
  EXPECT_EQ(app.config.help("runtime.threads"),
            "worker threads; 0 = all cores (--threads overrides it)");
  EXPECT_THROW(app.config.bind("runtime.threads", &app.runtime.threads, "again"), elarin::Error);
}

// A section whose fields declare constraints, as the regions' settings do.
struct Checked {
  int64_t input = 128;
  double decay = 0.9;
  double rate = 0.1;
  double share = 0.5;
  std::string index = "auto";
  std::vector<int64_t> sizes = {1, 2};
  std::vector<std::string> kinds = {"a"};
  bool flag = false;
  template <class V>
  void visit(V& v) {
    v("input", input, "size", elarin::at_least(1));
    v("decay", decay, "kept per tick", elarin::in_range(0, 1));
    v("rate", rate, "step", elarin::in_range(0, 1).open_low());
    v("share", share, "a share", elarin::Constraint::interval(0, 1, true, true));
    v("index", index, "kind of index", elarin::one_of({"flat", "hnsw", "auto"}));
    v("sizes", sizes, "sizes", elarin::at_least(1));
    v("kinds", kinds, "kinds", elarin::one_of({"a", "b"}));
    v("flag", flag, "no constraint");
  }
};

TEST(Config, ConstraintsHaveOneMessageShape) {
  Checked c;
  elarin::Config cfg;
  cfg.add("region.ifg", c);
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.input=0"); }),
            "region.ifg.input: got 0, expected >= 1");
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.decay=1.5"); }),
            "region.ifg.decay: got 1.5, expected in [0, 1]");
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.rate=0"); }),
            "region.ifg.rate: got 0, expected in (0, 1]");
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.share=1"); }),
            "region.ifg.share: got 1, expected in (0, 1)");
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.index=tree"); }),
            "region.ifg.index: got 'tree', expected one of flat, hnsw, auto");
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.sizes=[3, 0]"); }),
            "region.ifg.sizes: got 0 (item 2), expected >= 1");
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.kinds=[a, c]"); }),
            "region.ifg.kinds: got 'c' (item 2), expected one of a, b");
  EXPECT_EQ(error_of([&] { cfg.set("region.ifg.decay=nan"); }).find("region.ifg.decay: got "), 0u);
  // From a file the message names the file after the same words.
  const std::string path = temp_yaml("region:\n  ifg:\n    input: -2\n");
  EXPECT_EQ(error_of([&] { cfg.load_file(path); }),
            "region.ifg.input: got -2, expected >= 1 (in " + path + ")");
  // Nothing was committed; bounds themselves are allowed.
  EXPECT_EQ(c.input, 128);
  cfg.set_all({"region.ifg.decay=1", "region.ifg.rate=1", "region.ifg.index=flat",
               "region.ifg.kinds=[b, a]"});
  EXPECT_DOUBLE_EQ(c.decay, 1.0);
  EXPECT_EQ(c.index, "flat");
  // --keys prints what each key must be.
  EXPECT_EQ(cfg.constraint("region.ifg.input"), ">= 1");
  EXPECT_EQ(cfg.constraint("region.ifg.rate"), "in (0, 1]");
  EXPECT_EQ(cfg.constraint("region.ifg.index"), "one of flat, hnsw, auto");
  EXPECT_EQ(cfg.constraint("region.ifg.flag"), "");
}

TEST(Config, CheckConstraintsJudgesAStructSetInCode) {
  Checked c;
  EXPECT_NO_THROW(elarin::check_constraints(c, "region.ifg"));
  c.decay = -0.5;
  EXPECT_EQ(error_of([&] { elarin::check_constraints(c, "region.ifg"); }),
            "region.ifg.decay: got -0.5, expected in [0, 1]");
  c.decay = 0.5;
  c.index = "";
  EXPECT_EQ(error_of([&] { elarin::check_constraints(c, "x"); }),
            "x.index: got '', expected one of flat, hnsw, auto");
}

struct BadDefault {
  int64_t n = 0;
  template <class V>
  void visit(V& v) {
    v("n", n, "count", elarin::at_least(1));
  }
};

TEST(Config, ADefaultThatBreaksItsConstraintIsAProgrammingError) {
  BadDefault bad;
  elarin::Config cfg;
  EXPECT_THROW(cfg.add("bad", bad), elarin::Error);
}

TEST(Config, ARenamedKeyStillWorksAndWarnsOnce) {
  Checked c;
  elarin::Config cfg;
  cfg.add("region.ifg", c);
  cfg.alias("brain.ifg_size", "region.ifg.input");
  EXPECT_THROW(cfg.alias("x.y", "region.ifg.nothing"), elarin::Error) << "the new key must exist";
  testing::internal::CaptureStderr();
  cfg.set("brain.ifg_size=7");
  cfg.load_string("brain:\n  ifg_size: 9\n", "old.yaml");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(c.input, 9);
  EXPECT_NE(err.find("'brain.ifg_size' is deprecated, the key is now 'region.ifg.input'"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("deprecated"), err.rfind("deprecated")) << "warned once: " << err;
  // The alias is checked like its key, and is not a key of its own.
  EXPECT_EQ(error_of([&] { cfg.set("brain.ifg_size=0"); }),
            "region.ifg.input: got 0, expected >= 1");
  EXPECT_FALSE(cfg.has("brain.ifg_size"));
  EXPECT_EQ(cfg.to_json()["region"]["ifg"]["input"], 9);
}

// Every renamed key of the application names a key that exists, and sets it.
TEST(Config, AppConfigRenamedKeysReachTheirNewHome) {
  for (const auto& r : elarin::kRenamedKeys) {
    elarin::AppConfig app;
    ASSERT_TRUE(app.config.has(r.new_key)) << r.new_key;
    EXPECT_FALSE(app.config.has(r.old_key)) << r.old_key;
    app.config.set(std::string(r.old_key) + "=3");
    EXPECT_EQ(app.config.to_json().flatten()["/" +
                                             [&] {
                                               std::string k = r.new_key;
                                               for (auto& ch : k) ch = ch == '.' ? '/' : ch;
                                               return k;
                                             }()],
              3)
        << r.old_key << " -> " << r.new_key;
  }
}

}  // namespace
