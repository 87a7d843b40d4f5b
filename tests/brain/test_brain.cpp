// The in-process brain with the decision regions (thalamus, hippocampus, basal ganglia,
// motor, hypothalamus): it learns to name noisy prototypes from reward alone; a saved and
// reloaded brain continues exactly as the original; neurogenesis re-initialises only the
// regions whose file is missing or all zeros; bad wiring fails with a message naming it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "brain/brain_test_util.hpp"
#include "elarin/brain/brain.hpp"
#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/cli/app_config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/nn/plastic_linear.hpp"
#include "elarin/regions/registry.hpp"
#include "test_util.hpp"

namespace {

using elarin::brain::Brain;
using elarin::test::emitted;
using elarin::test::error_message;
using elarin::test::TestBrain;
using elarin::test::TwoSenses;
using elarin::test::World;

TEST(Brain, LearnsToNamePrototypesFromRewardAlone) {
  elarin::test::TempDir dir;
  TestBrain s(dir.path);
  Brain brain(s.setup);
  brain.load_or_initialise();
  World world;
  auto live_rows = [&] {  // channels with a live Go or NoGo connection
    auto st = brain.region("basal_ganglia").state();
    auto live = (st.at("go.weight") > elarin::nn::kSentinel / 2) |
                (st.at("nogo.weight") > elarin::nn::kSentinel / 2);
    return live.any(1);
  };
  int right_last_100 = 0;
  for (int t = 0; t < 400; ++t) {
    auto [x, label] = world.next();
    const int64_t said = emitted(brain.tick({{"vision", x}}));
    const bool right = said == label;
    brain.feedback(right ? 1.0 : -1.0);
    if (t == 0) {  // only the channel that acted has woken connections
      auto rows = live_rows();
      EXPECT_TRUE(rows[said].item<bool>());
      EXPECT_EQ(rows.sum().item<int64_t>(), 1);
    }
    if (t >= 300) right_last_100 += right;
  }
  EXPECT_GE(right_last_100, 95);  // 10 names: chance is 10%
}

TEST(Brain, SavedAndReloadedBrainContinuesIdentically) {
  elarin::test::TempDir dir;
  TestBrain s(dir.path);
  Brain a(s.setup);
  a.load_or_initialise();
  World world;
  for (int t = 0; t < 60; ++t) {
    auto [x, label] = world.next();
    a.feedback(emitted(a.tick({{"vision", x}})) == label ? 1.0 : -1.0);
  }
  a.save();
  Brain b(s.setup);
  EXPECT_TRUE(b.load_or_initialise().empty());  // everything resumed, nothing grown
  EXPECT_EQ(b.ticks(), 60);
  for (int t = 0; t < 40; ++t) {
    auto [x, label] = world.next();
    auto ra = a.tick({{"vision", x}}), rb = b.tick({{"vision", x}});
    for (const auto& [region, ports] : ra.outputs)
      for (const auto& [port, value] : ports)
        ASSERT_TRUE(torch::equal(value, rb.outputs.at(region).at(port)))
            << region << "." << port << " differs at tick " << ra.tick;
    const double r = emitted(ra) == label ? 1.0 : -1.0;
    auto ma = a.feedback(r), mb = b.feedback(r);
    EXPECT_EQ(ma.dopamine, mb.dopamine);
  }
}

// Every file the brain writes carries the resolved config it ran under (brain.* and every
// region.<kind>.*), as JSON under elarin.config: a checkpoint says how it was made.
TEST(Brain, EveryStateFileHoldsTheResolvedConfig) {
  elarin::test::TempDir dir;
  TestBrain s(dir.path, {"region.motor.candidates=3", "region.hippocampus.k=7"});
  Brain a(s.setup);
  a.load_or_initialise();
  World world;
  auto [x, label] = world.next();
  a.tick({{"vision", x}});
  a.feedback(1.0);
  a.save();
  int files = 0;
  for (const auto& name : {"hippocampus", "basal_ganglia", "hypothalamus", "brain"}) {
    const auto meta = elarin::SafeTensors::open(a.state_path(name)).metadata();
    ASSERT_TRUE(meta.count(elarin::Config::kMetadataKey)) << name;
    const auto j = nlohmann::json::parse(meta.at(elarin::Config::kMetadataKey));
    EXPECT_EQ(j["region"]["motor"]["candidates"], 3) << name;
    EXPECT_EQ(j["region"]["hippocampus"]["k"], 7) << name;
    EXPECT_EQ(j["brain"]["state_dir"], dir.path) << name;
    EXPECT_EQ(j["brain"]["regions"].size(), a.order().size()) << name;
    // Read back into a fresh config, it builds the same brain.
    elarin::Config again;
    elarin::brain::BrainSetup setup(elarin::regions::region_table());
    setup.bind(again);
    again.load_string(j.dump(), name);
    EXPECT_EQ(setup.brain.regions, a.config().regions);
    ++files;
  }
  EXPECT_EQ(files, 4);
}

TEST(Brain, NeurogenesisFillsOnlyMissingOrAllZeroFiles) {
  elarin::test::TempDir dir;
  TestBrain s(dir.path);
  {
    Brain a(s.setup);
    EXPECT_EQ(a.load_or_initialise(),
              (std::vector<std::string>{"hippocampus", "basal_ganglia", "hypothalamus"}));
    World world;
    for (int t = 0; t < 30; ++t) {
      auto [x, label] = world.next();
      a.feedback(emitted(a.tick({{"vision", x}})) == label ? 1.0 : -1.0);
    }
    a.save();
  }
  Brain ref(s.setup);
  ref.load_or_initialise();
  // hippocampus: file removed; basal ganglia: the same tensors, all zeros.
  std::filesystem::remove(ref.state_path("hippocampus"));
  auto bg = elarin::SafeTensors::open(ref.state_path("basal_ganglia")).tensors();
  for (auto& [name, t] : bg) t = torch::zeros_like(t);
  elarin::save_safetensors(ref.state_path("basal_ganglia"), bg);
  Brain b(s.setup);
  EXPECT_EQ(b.load_or_initialise(), (std::vector<std::string>{"hippocampus", "basal_ganglia"}));
  EXPECT_EQ(b.region("hippocampus").state().at("episodes.actions").numel(), 0);
  auto go = b.region("basal_ganglia").state().at("go.weight");
  EXPECT_TRUE((go == elarin::nn::kSentinel).all().item<bool>());  // re-grown: all dormant
  // The hypothalamus kept its learnt reward rate.
  EXPECT_TRUE(torch::equal(b.region("hypothalamus").state().at("reward_rate"),
                           ref.region("hypothalamus").state().at("reward_rate")));
  EXPECT_GT(ref.region("hypothalamus").state().at("reward_rate").item<float>(), 0.0f);

  TestBrain off(dir.path, {"brain.neurogenesis=false"});
  std::filesystem::remove(ref.state_path("hippocampus"));
  Brain c(off.setup);
  const auto msg = error_message<elarin::Error>([&] { c.load_or_initialise(); });
  EXPECT_NE(msg.find("hippocampus"), std::string::npos) << msg;
}

// Neurogenesis seeds a region by its name, not its place in brain.regions: a brain with one
// more region (the dmn, listed before them) starts its other regions exactly as before, so an
// ablation or an added region compares like with like.
TEST(Brain, AnAddedRegionLeavesTheOthersStartUnchanged) {
  elarin::test::TempDir dir;
  TestBrain plain(dir.path + "/plain");
  elarin::test::ConsolidatingBrain more(dir.path + "/more");
  Brain a(plain.setup), b(more.setup);
  a.load_or_initialise();
  b.load_or_initialise();
  ASSERT_EQ(b.order().size(), a.order().size() + 1);
  for (const auto& r : a.order())
    for (const auto& [key, t] : a.region(r).state())
      EXPECT_TRUE(torch::equal(t, b.region(r).state().at(key))) << r << "." << key;
  EXPECT_FALSE(a.region("basal_ganglia").state().empty());
}

TEST(Brain, BadWiringIsAUsageErrorNamingIt) {
  elarin::test::TempDir dir;
  auto fails = [&](const std::string& set, const std::string& what) {
    TestBrain s(dir.path, {set});
    const auto msg = error_message<elarin::UsageError>([&] { Brain b(s.setup); });
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  };
  fails("brain.connections=[\"thalamus.focus -> motor.nope\"]", "motor has no input 'nope'");
  fails("brain.connections=[\"thalamus.fused -> basal_ganglia.state\"]",
        "sizes differ, 512 -> 128");
  fails("brain.connections=[\"env.sound -> thalamus.audio\"]", "the world has no port 'sound'");
  fails("brain.connections=[\"thalamus.focus basal_ganglia.state\"]", "expected \"region.port");
  fails("brain.regions=[thalamus, cortex]",
        "unknown region 'cortex': expected one of retina, occipital, thalamus");
  fails(
      "brain.connections=[\"thalamus.focus -> basal_ganglia.state\", "
      "\"thalamus.focus -> basal_ganglia.state\"]",
      "already fed");
}

}  // namespace

namespace {

TEST(Brain, GpuDebugLogsEachRegionsMemoryAtEverySave) {
  elarin::test::TempDir dir;
  TestBrain s(dir.path + "/state", {"brain.gpu_debug=true"});
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path);  // logs/ lands in the scratch directory
  {
    Brain b(s.setup);
    b.load_or_initialise();
    World world;
    b.tick({{"vision", world.next().first}});
    b.save();
    b.save();
  }
  std::filesystem::current_path(cwd);
  std::ifstream log(dir.path + "/logs/GPU_debug.log");
  std::string line;
  std::map<std::string, int> lines;
  while (std::getline(log, line)) {
    const auto at = line.find(" region=");
    ASSERT_NE(at, std::string::npos) << line;
    lines[line.substr(at + 8, line.find(' ', at + 8) - at - 8)]++;
    EXPECT_NE(line.find("device=cpu"), std::string::npos) << line;
    EXPECT_EQ(line.find("rss_kib=-1"), std::string::npos) << "its own process is readable";
  }
  EXPECT_EQ(lines.size(), 5u);  // every region, stateless ones too
  for (const auto& [region, n] : lines) EXPECT_EQ(n, 2) << region << ": one line per save";
}

}  // namespace

namespace {

// Sensor load: a sense shown nothing this tick idles: its outputs are zeros, the thalamus
// gates it out, and every output equals that of a brain whose regions all tick. A sense that
// reads a non-sense is refused. (Over ZeroMQ an idle sense gets no message at all:
// tests/brain/test_corpus_callosum.cpp.)
TEST(Brain, ASenseShownNothingIdlesAndTheThalamusGatesItOut) {
  elarin::test::TempDir dir;
  auto text = elarin::brain::text_row("seven", 32);
  auto run = [&](const std::vector<std::string>& extra) {
    TwoSenses s(dir.path, extra);
    Brain b(s.setup);
    b.load_or_initialise();
    return b.tick({{"text", text}}).outputs;
  };
  auto idle = run({});
  EXPECT_EQ(idle["retina"]["embedding"].abs().sum().item<float>(), 0.f);
  EXPECT_EQ(idle["occipital"]["features"].abs().sum().item<float>(), 0.f);
  EXPECT_GT(idle["wernicke"]["meaning"].abs().sum().item<float>(), 0.f) << "shown text: ticks";
  EXPECT_EQ(idle["thalamus"]["gains"][0].item<float>(), 0.f);
  EXPECT_FLOAT_EQ(idle["thalamus"]["gains"][2].item<float>(), 1.f);
  auto busy = run({"brain.senses=[]"});  // every region ticks: the retina sees a black image
  for (const auto& [region, ports] : idle)
    for (const auto& [port, value] : ports)
      EXPECT_TRUE(torch::equal(value, busy[region][port])) << region << "." << port;

  TwoSenses bad(dir.path, {"brain.senses=[occipital, wernicke]"});
  const auto msg = error_message<elarin::UsageError>([&] { Brain b(bad.setup); });
  EXPECT_NE(msg.find("brain.senses: 'occipital' reads retina.embedding"), std::string::npos) << msg;
}

}  // namespace

namespace {

// The shipped brains build and wire: configs/default.yaml (11 regions, four senses) and
// configs/full.yaml (15, its basal ganglia reading the fused 512).
TEST(Brain, ShippedConfigsBuild) {
  elarin::test::TempDir dir;
  for (const auto& [file, regions] :
       std::vector<std::pair<std::string, size_t>>{
           {"default.yaml", 11}, {"full.yaml", 16}, {"rule.yaml", 10}}) {
    elarin::AppConfig cfg;
    cfg.load(std::string(ELARIN_SOURCE_DIR) + "/configs/" + file, {"brain.state_dir=" + dir.path});
    Brain b(cfg.brain);
    EXPECT_EQ(b.order().size(), regions) << file;
    const auto bg = b.region("basal_ganglia").inputs().at(0).size;
    EXPECT_EQ(bg, file == "default.yaml" ? 128 : 512) << file;
    if (file != "full.yaml") continue;
    // The seed's allocation, within 25%: values each group holds once built (the
    // hippocampus's ~10M is its capacity, filled by episodes: its own test checks that).
    auto values = [&](std::initializer_list<const char*> names) {
      double n = 0;
      for (const char* name : names)
        for (const auto& [key, t] : b.region(name).state()) n += double(t.numel());
      return n / 1e6;
    };
    for (const auto& [group, millions, seed] : std::vector<std::tuple<std::string, double, double>>{
             {"senses", values({"retina", "occipital", "cochlea", "auditory", "wernicke"}), 5},
             {"basal ganglia", values({"basal_ganglia"}), 5},
             {"cerebellum", values({"cerebellum"}), 3},
             {"thalamus/DMN", values({"thalamus", "dmn"}), 15},
             {"pfc", values({"pfc"}), 10},
             {"motor/insula", values({"motor", "insula"}), 60}}) {
      EXPECT_GT(millions, 0.75 * seed) << group << " holds " << millions << "M";
      EXPECT_LT(millions, 1.25 * seed) << group << " holds " << millions << "M";
    }
  }
}

}  // namespace
