// The `elarin` binary's contract: --version content, exit codes 2/1 with one-line messages,
// --help everywhere, config printing.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/run_binary.hpp"

namespace {

using elarin::test::run_elarin;

size_t line_count(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

TEST(Cli, VersionShowsTorchBlasThreadsCuda) {
  auto r = run_elarin({"--version"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_NE(r.out.find("elarin " ELARIN_VERSION), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("libtorch "), std::string::npos) << r.out;
  // setup.sh installs libopenblas0-openmp; the reference BLAS would be a set-up defect.
  EXPECT_NE(r.out.find("blas OpenBLAS"), std::string::npos) << r.out;
  const unsigned cores = std::thread::hardware_concurrency();
  EXPECT_NE(r.out.find("threads " + std::to_string(cores) + " "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cuda "), std::string::npos) << r.out;
  auto r1 = run_elarin({"--threads", "1", "--version"});
  EXPECT_NE(r1.out.find("threads 1 "), std::string::npos) << r1.out;
}

// runtime.threads is applied; --threads, when given, wins over it.
TEST(Cli, RuntimeThreadsIsAppliedAndThreadsOverridesIt) {
  auto r = run_elarin({"--set", "runtime.threads=1", "--version"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_NE(r.out.find("threads 1 "), std::string::npos) << r.out;
  if (std::thread::hardware_concurrency() >= 2) {
    auto both = run_elarin({"--threads", "2", "--set", "runtime.threads=1", "--version"});
    EXPECT_NE(both.out.find("threads 2 "), std::string::npos) << both.out;
  }
  auto bad = run_elarin({"--set", "runtime.threads=-1", "--version"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("runtime.threads: got -1, expected >= 0"), std::string::npos)
      << bad.err_tail();
  // runtime.device is gone: regions choose their device in brain.devices.
  EXPECT_EQ(run_elarin({"config", "--set", "runtime.device=cpu"}).code, 2);
}

// `config --keys` prints each key's default, constraint and doc string.
TEST(Cli, ConfigKeysShowConstraints) {
  auto r = run_elarin({"config", "--keys"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  for (const char* line : {"region.motor.candidates = 5  (>= 1)  # names the motor scores",
                           "region.ifg.decay = 0.9  (in [0, 1])  # ",
                           "region.hippocampus.index = \"auto\"  (one of flat, hnsw, auto)",
                           "lm.model.expert_count = 0  (>= 0)  # routed experts",
                           "runtime.threads = 0  (>= 0)  # worker threads"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line;
}

// Every dotted config key that a help text names (`--set region.x.y=...`, "(brain.foo)")
// exists: help texts cannot drift from the keys.
TEST(Cli, HelpTextsNameOnlyKeysThatExist) {
  auto keys = run_elarin({"config", "--keys"});
  ASSERT_EQ(keys.code, 0) << keys.err_tail();
  std::set<std::string> known;
  {
    std::istringstream in(keys.out);
    std::string line;
    while (std::getline(in, line)) known.insert(line.substr(0, line.find(' ')));
  }
  std::vector<std::vector<std::string>> pages = {{"--help"}};
  for (const char* cmd :
       {"config", "encode", "data", "bench", "sample", "verify", "brain", "wipe", "region"})
    pages.push_back({cmd, "--help"});
  for (const char* sub : {"moe", "lm", "tokenizer"}) pages.push_back({"train", sub, "--help"});
  const std::regex key(
      R"(\b((?:runtime|log|data|moe|lm|brain|region|task)\.[a-z_]+(?:\.[a-z_]+)*))");
  int named = 0;
  for (const auto& page : pages) {
    auto r = run_elarin(page);
    ASSERT_EQ(r.code, 0) << page[0] << ": " << r.err_tail();
    for (std::sregex_iterator it(r.out.begin(), r.out.end(), key), end; it != end; ++it) {
      const std::string k = (*it)[1];
      // A section named whole ("lm.train.*", "region.<kind>") is fine when some key is in it.
      const bool ok = known.count(k) || std::any_of(known.begin(), known.end(), [&](auto& x) {
                        return x.rfind(k + ".", 0) == 0;
                      });
      EXPECT_TRUE(ok) << "`elarin " << page[0] << " --help` names '" << k
                      << "', which is not a config key";
      ++named;
    }
  }
  EXPECT_GT(named, 10) << "the help texts name keys";
}

TEST(Cli, UsageErrorsExitTwoWithOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"no-such-command"},
           {"--threads", "-3", "--version"},
           {"config", "--set", "runtime.thread=2"},
           {"config", "--set", "runtime.threads=many"},
           {"encode"},                                                // --model is required
           {"encode", "--model", ".", "--ids", "1", "--text", "hi"},  // two inputs
           {"bench", "blas", "--size", "3"},
           {"data", "imagenet"}}) {
    auto r = run_elarin(args);
    EXPECT_EQ(r.code, 2) << args[0] << ": " << r.err_tail();
    EXPECT_EQ(line_count(r.err), 1u) << r.err_tail();
    EXPECT_EQ(r.err.rfind("elarin: ", 0), 0u) << r.err_tail();
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err_tail();
  }
  auto r = run_elarin({"config", "--set", "runtime.thread=2"});
  EXPECT_NE(r.err.find("did you mean 'runtime.threads'"), std::string::npos) << r.err_tail();
}

TEST(Cli, RuntimeErrorsExitOneWithOneLine) {
  // A directory without config.json, and a missing CSV: runtime failures, not usage.
  auto r = run_elarin({"encode", "--model", "/tmp", "--ids", "1,2"});
  EXPECT_EQ(r.code, 1) << r.err_tail();
  EXPECT_EQ(line_count(r.err), 1u) << r.err_tail();
  EXPECT_NE(r.err.find("/tmp"), std::string::npos) << r.err_tail();
  auto r2 = run_elarin({"data", "csv", "--csv", "/nonexistent/digits.csv"});
  EXPECT_EQ(r2.code, 1) << r2.err_tail();
  EXPECT_NE(r2.err.find("/nonexistent/digits.csv"), std::string::npos) << r2.err_tail();
}

TEST(Cli, HelpEverywhereShowsDefaults) {
  auto r = run_elarin({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* cmd : {"encode", "data", "bench", "config"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
    auto sub = run_elarin({cmd, "--help"});
    EXPECT_EQ(sub.code, 0) << cmd;
    EXPECT_NE(sub.out.find("Usage:"), std::string::npos) << cmd;
  }
  auto enc = run_elarin({"encode", "--help"});
  EXPECT_NE(enc.out.find("=pooled"), std::string::npos) << enc.out;  // default shown
}

TEST(Cli, ConfigJsonIsResolved) {
  auto r = run_elarin({"config", "--json", "--set", "runtime.seed=7", "--config",
                       std::string(ELARIN_SOURCE_DIR) + "/configs/default.yaml"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["runtime"]["seed"], 7);
  EXPECT_EQ(j["log"]["runs_dir"], "runs");
}

}  // namespace

namespace {

// With the reference BLAS first on the library path, --version must say so and warn:
// this is the check that catches a machine set up without libopenblas0-openmp.
TEST(Cli, VersionDetectsReferenceBlas) {
  const char* ref = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
  if (::access(ref, R_OK) != 0) GTEST_SKIP() << "no reference BLAS at " << ref;
  ::setenv("LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu/blas", 1);
  auto r = elarin::test::run_elarin({"--version"});
  ::unsetenv("LD_LIBRARY_PATH");
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_NE(r.out.find("blas reference BLAS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("install libopenblas0-openmp"), std::string::npos) << r.out;
}

}  // namespace
