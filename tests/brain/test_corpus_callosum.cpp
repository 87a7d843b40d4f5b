// The brain over ZeroMQ, one process per region (started from the elarin binary): the same
// seed gives the same outputs, tick for tick, and the same saved files as in one process;
// 10,000 malformed messages sent to each live region are counted and dropped, and garbage
// sent to the relay is too, and the brain goes on identically; a region killed with
// SIGKILL is started again, reloads its last snapshot and the brain goes on exactly as an
// in-process brain whose region was reloaded from that snapshot; a killed region that cannot
// start again is an error naming it, not a loop of restarts; the hippocampus's replay and the
// dmn it teaches are the same in both, and so is the pfc's learned gate.
#include <gtest/gtest.h>
#include <signal.h>
#include <torch/torch.h>
#include <zmq.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "brain/brain_test_util.hpp"
#include "brain/bus_protocol.hpp"
#include "elarin/brain/corpus_callosum.hpp"
#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/core/config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "test_util.hpp"

namespace {

using elarin::brain::Brain;
using elarin::brain::BusMessage;
using elarin::test::emitted;
using elarin::test::TestBrain;
using elarin::test::TwoSenses;
using elarin::test::World;
namespace bus = elarin::brain::bus;

std::vector<std::string> over_zmq() {
  return {"brain.transport=zmq", std::string("brain.region_program=") + ELARIN_BINARY,
          "brain.bus_timeout_s=60"};
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// One tick of both brains on the same stimulus, every output port compared bit for bit,
// then the same reward to both. Returns false (with a failure) at the first difference.
bool step_both(Brain& a, Brain& b, World& world) {
  auto [x, label] = world.next();
  auto ra = a.tick({{"vision", x}}), rb = b.tick({{"vision", x}});
  for (const auto& [region, ports] : ra.outputs)
    for (const auto& [port, value] : ports)
      if (!torch::equal(value, rb.outputs.at(region).at(port))) {
        ADD_FAILURE() << region << "." << port << " differs at tick " << ra.tick;
        return false;
      }
  const double reward = emitted(ra) == label ? 1.0 : -1.0;
  auto ma = a.feedback(reward), mb = b.feedback(reward);
  EXPECT_EQ(ma.dopamine, mb.dopamine);
  return true;
}

TEST(CorpusCallosum, SameSeedSameOutputsAndFilesInProcessAndOverZeroMQ) {
  elarin::test::TempDir dir;
  TestBrain in(dir.path + "/inproc"), zmq(dir.path + "/zmq", over_zmq());
  Brain a(in.setup), b(zmq.setup);
  ASSERT_NE(b.bus(), nullptr);
  for (const auto& r : b.order()) EXPECT_GT(b.bus()->pid(r), 0) << r << " runs in its own process";
  EXPECT_EQ(a.load_or_initialise(), b.load_or_initialise());
  World world;
  for (int t = 0; t < 150; ++t) ASSERT_TRUE(step_both(a, b, world));
  a.save();
  b.save();
  for (const auto& r : {"hippocampus", "basal_ganglia", "hypothalamus", "brain"}) {
    EXPECT_TRUE(std::filesystem::exists(a.state_path(r))) << r;
    EXPECT_TRUE(elarin::brain::same_saved_state(a.state_path(r), b.state_path(r)))
        << r << ".safetensors differs";
  }
  // Each file holds the config it was written under, the region processes' files too.
  const auto meta = elarin::SafeTensors::open(b.state_path("basal_ganglia")).metadata();
  ASSERT_TRUE(meta.count(elarin::Config::kMetadataKey));
  const auto stored = nlohmann::json::parse(meta.at(elarin::Config::kMetadataKey));
  EXPECT_EQ(stored["brain"]["transport"], "zmq");
  EXPECT_EQ(stored["brain"]["state_dir"], dir.path + "/zmq");
  // Region state read over the bus is the region's own.
  EXPECT_TRUE(torch::equal(a.region("basal_ganglia").state().at("go.weight"),
                           b.region("basal_ganglia").state().at("go.weight")));
  // float64 state too (it once crashed the region process, which was restarted forever).
  EXPECT_TRUE(torch::equal(a.region("hypothalamus").state().at("reward_rate"),
                           b.region("hypothalamus").state().at("reward_rate")));
  EXPECT_EQ(b.bus()->restarts("hypothalamus"), 0);
}

// The hippocampus's replay is drawn with the tick's seed, so the dmn consolidates the same
// episodes in its own process as in one process.
TEST(CorpusCallosum, ReplayAndTheDmnAreTheSameOverZeroMQ) {
  elarin::test::TempDir dir;
  elarin::test::ConsolidatingBrain in(dir.path + "/inproc"), zmq(dir.path + "/zmq", over_zmq());
  Brain a(in.setup), b(zmq.setup);
  EXPECT_EQ(a.load_or_initialise(), b.load_or_initialise());
  World world;
  for (int t = 0; t < 80; ++t) ASSERT_TRUE(step_both(a, b, world));
  a.save();
  b.save();
  for (const auto& r : {"hippocampus", "dmn"}) {
    EXPECT_TRUE(std::filesystem::exists(a.state_path(r))) << r;
    EXPECT_TRUE(elarin::brain::same_saved_state(a.state_path(r), b.state_path(r)))
        << r << ".safetensors differs";
  }
}

// The pfc's learned gate explores with the tick's seed and learns from the ratings, so it
// decides and learns the same in its own process; its state (fetched over the bus) and its
// file are the same too.
TEST(CorpusCallosum, TheLearnedPfcIsTheSameOverZeroMQ) {
  elarin::test::TempDir dir;
  const std::string yaml = elarin::test::decision_core(
      "thalamus, pfc, hippocampus, basal_ganglia, motor, hypothalamus",
      "    - thalamus.focus -> pfc.state\n    - pfc.context -> thalamus.context\n",
      "region:\n  pfc: {gating: learned, expert_count: 4, expert_hidden: 32, explore: 0.3}\n");
  elarin::test::YamlBrain in(yaml, dir.path + "/inproc", {}),
      zmq(yaml, dir.path + "/zmq", over_zmq());
  Brain a(in.setup), b(zmq.setup);
  EXPECT_EQ(a.load_or_initialise(), b.load_or_initialise());
  World world;
  for (int t = 0; t < 60; ++t) ASSERT_TRUE(step_both(a, b, world));
  const auto sa = a.region("pfc").state(), sb = b.region("pfc").state();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [k, v] : sa) EXPECT_TRUE(torch::equal(v, sb.at(k))) << k;
  float learned = 0;  // the gate's output layers start at zero
  for (const auto& [k, v] : sa)
    if (k.find("fc2") != std::string::npos) learned += v.abs().sum().item<float>();
  EXPECT_GT(learned, 0) << "the gate learned";
  a.save();
  b.save();
  EXPECT_TRUE(elarin::brain::same_saved_state(a.state_path("pfc"), b.state_path("pfc")));
}

// Deterministically malformed variants of a well-formed request: each must be rejected.
std::vector<std::string> malformed(const std::string& region, int n) {
  BusMessage tick = bus::message(bus::Op::kTick, bus::kRelay, 3, 1);
  bus::put_context(tick, elarin::brain::TickContext{});
  tick.tensors["vision"] = torch::ones({128});
  const std::string wire = encode_message(tick);
  std::mt19937 rng(5);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string bad;
    BusMessage m = tick;
    switch (i % 7) {
      case 0:  // truncated
        bad = wire.substr(0, rng() % wire.size());
        break;
      case 1:  // garbage
        bad.assign(1 + rng() % 2048, '\0');
        for (auto& c : bad) c = static_cast<char>(rng());
        break;
      case 2:  // a tensor byte flipped: the CRC no longer matches
        bad = wire;
        bad[bad.size() - 1 - rng() % 512] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 3:  // a corrupted header length
        bad = wire;
        bad[rng() % 8] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 4:  // an op that does not exist
        m.header["req.op"] = "op" + std::to_string(rng() % 1000);
        bad = encode_message(m);
        break;
      case 5:  // an op in the wrong bus.kind
        m.kind = "control";
        bad = encode_message(m);
        break;
      default:  // no request number
        m.header.erase("req.id");
        bad = encode_message(m);
    }
    out.push_back(std::move(bad));
  }
  return out;
}

TEST(CorpusCallosum, TenThousandMalformedMessagesPerRegionAreCountedAndDropped) {
  elarin::test::TempDir dir;
  TestBrain in(dir.path + "/inproc"), zmq(dir.path + "/zmq", over_zmq());
  Brain a(in.setup), b(zmq.setup);
  a.load_or_initialise();
  b.load_or_initialise();
  World world;
  for (int t = 0; t < 20; ++t) ASSERT_TRUE(step_both(a, b, world));
  std::map<std::string, int> pids;
  for (const auto& r : b.order()) {
    pids[r] = b.bus()->pid(r);
    for (const auto& bytes : malformed(r, 10000)) b.bus()->send_raw(r, bytes);
  }
  // The relay itself: a stranger's garbage and a message that claims another's name.
  {
    zmq::context_t ctx;
    zmq::socket_t rogue(ctx, zmq::socket_type::dealer);
    rogue.set(zmq::sockopt::routing_id, "mallory");
    rogue.set(zmq::sockopt::linger, 1000);
    rogue.connect(b.bus()->endpoint());
    for (int i = 0; i < 100; ++i)
      rogue.send(zmq::str_buffer("not a message"), zmq::send_flags::none);
    BusMessage fake = bus::message(bus::Op::kHello, "motor", 0);
    rogue.send(zmq::buffer(encode_message(fake)), zmq::send_flags::none);
  }
  for (int t = 0; t < 30; ++t) ASSERT_TRUE(step_both(a, b, world));
  for (const auto& r : b.order()) {
    const BusMessage s = b.bus()->request(r, bus::message(bus::Op::kStats, bus::kRelay, 0));
    EXPECT_EQ(bus::get_int(s, "stats.rejected"), 10000)
        << r << ": " << bus::get(s, "stats.last_error");
    EXPECT_EQ(b.bus()->pid(r), pids[r]) << r << " was restarted";
    EXPECT_EQ(b.bus()->restarts(r), 0) << r;
  }
  EXPECT_EQ(b.bus()->stats().rejected, 101) << b.bus()->stats().last_error;
  EXPECT_NE(b.bus()->stats().last_error.find("mallory"), std::string::npos)
      << b.bus()->stats().last_error;
}

TEST(CorpusCallosum, AKilledRegionIsRestartedFromItsLastSnapshot) {
  elarin::test::TempDir dir;
  TestBrain in(dir.path + "/inproc"), zmq(dir.path + "/zmq", over_zmq());
  Brain a(in.setup), b(zmq.setup);
  a.load_or_initialise();
  b.load_or_initialise();
  World world;
  for (int t = 0; t < 40; ++t) ASSERT_TRUE(step_both(a, b, world));
  a.save();
  b.save();  // the snapshot
  for (int t = 0; t < 25; ++t) ASSERT_TRUE(step_both(a, b, world));
  const int pid = b.bus()->pid("basal_ganglia");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // What the restarted region must do: forget the last 25 ticks' learning, from its file.
  auto snapshot = elarin::SafeTensors::open(a.state_path("basal_ganglia")).tensors();
  a.region("basal_ganglia").load_state({snapshot.begin(), snapshot.end()});
  for (int t = 0; t < 40; ++t) ASSERT_TRUE(step_both(a, b, world));
  EXPECT_EQ(b.bus()->restarts("basal_ganglia"), 1);
  EXPECT_NE(b.bus()->pid("basal_ganglia"), pid);
  EXPECT_GT(b.bus()->pid("basal_ganglia"), 0);
  for (const auto& r : b.order())
    if (r != std::string("basal_ganglia")) {
      EXPECT_EQ(b.bus()->restarts(r), 0) << r;
    }
}

// The config file a region process was started with (its --config argument).
std::string config_of(int pid) {
  const std::string cmdline = file_bytes("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  for (size_t at = 0; at < cmdline.size();) {
    const size_t end = cmdline.find('\0', at);
    args.push_back(cmdline.substr(at, end - at));
    at = end == std::string::npos ? cmdline.size() : end + 1;
  }
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--config") return args[i + 1];
  return "";
}

TEST(CorpusCallosum, AKilledRegionThatCannotStartAgainIsAnErrorNotALoop) {
  elarin::test::TempDir dir;
  TestBrain zmq(dir.path + "/zmq", over_zmq());
  Brain b(zmq.setup);
  b.load_or_initialise();
  World world;
  for (int t = 0; t < 5; ++t) {
    auto [x, label] = world.next();
    b.tick({{"vision", x}});
    b.feedback(1.0);
  }
  const int pid = b.bus()->pid("basal_ganglia");
  ASSERT_GT(pid, 0);
  const std::string config = config_of(pid);
  ASSERT_FALSE(config.empty());
  {  // every region process started from now on fails on its config and exits
    std::ofstream out(config, std::ios::trunc);
    out << "brain: [not, closed\n";
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  auto [x, label] = world.next();
  try {
    b.tick({{"vision", x}});
    ADD_FAILURE() << "the tick went on without its basal ganglia";
  } catch (const elarin::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("basal_ganglia"), std::string::npos) << msg;
    EXPECT_NE(msg.find("before it said hello"), std::string::npos) << msg;
  }
  EXPECT_EQ(b.bus()->restarts("basal_ganglia"), 1) << "one try, then the error";
}

// The thalamus filters the sensor load over the bus: a sense shown nothing this tick gets no
// message (its process counts none), and the outputs still equal the in-process brain's.
TEST(CorpusCallosum, AnIdleSenseGetsNoMessage) {
  elarin::test::TempDir dir;
  TwoSenses in(dir.path + "/inproc", {}), zmq(dir.path + "/zmq", over_zmq());
  Brain a(in.setup), b(zmq.setup);
  a.load_or_initialise();
  b.load_or_initialise();
  auto received = [&](const std::string& r) {  // the stats request itself counts one
    return bus::get_int(b.bus()->request(r, bus::message(bus::Op::kStats, bus::kRelay, 0)),
                        "stats.received");
  };
  const auto retina0 = received("retina"), wernicke0 = received("wernicke");
  auto image = torch::rand({784}, at::detail::createCPUGenerator(2));
  auto text = elarin::brain::text_row("seven", 32);
  for (int t = 0; t < 8; ++t) {
    const elarin::brain::Ports env =
        t < 5 ? elarin::brain::Ports{{"text", text}} : elarin::brain::Ports{{"image", image}};
    auto ra = a.tick(env), rb = b.tick(env);
    for (const auto& [region, ports] : ra.outputs)
      for (const auto& [port, value] : ports)
        EXPECT_TRUE(torch::equal(value, rb.outputs.at(region).at(port)))
            << region << "." << port << " at tick " << t;
  }
  EXPECT_EQ(received("retina") - retina0, 3 + 1) << "ticked only when shown an image";
  EXPECT_EQ(received("wernicke") - wernicke0, 5 + 1) << "ticked only when shown text";
}

}  // namespace
