// The brain runtime, in one process: regions built from the config's region table, wired
// by `brain.connections`, ticked in `brain.regions` order, taught by feedback, and saved
// to `brain.state_dir` (one safetensors file per region, written atomically).
// A connection from an earlier region to a later one carries this tick's value; one that
// points backwards carries the previous tick's (zeros at first), so loops are allowed and
// a tick stays deterministic. With `brain.transport: zmq` every region runs in its own
// process (brain/corpus_callosum.hpp) and the schedule is the same, so are the outputs.
//
//   #include "elarin/regions/registry.hpp"
//   elarin::Config config;
//   elarin::brain::BrainSetup setup(elarin::regions::region_table());
//   setup.bind(config);  // brain.* and region.<kind>.* keys
//   config.load_file("configs/default.yaml");
//   elarin::brain::Brain brain(setup);
//   brain.load_or_initialise();                   // resume, or neurogenesis
//   torch::Tensor img = torch::rand({784});       // brain.env_ports: image=784
//   auto out = brain.tick({{"image", img}});      // every region's output ports
//   auto mods = brain.feedback(/*reward=*/1.0);  // dopamine, then every region learns
//   brain.save();
//   // A whole program: examples/brain_two_regions.cpp
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "elarin/brain/corpus_callosum.hpp"
#include "elarin/brain/region.hpp"

namespace elarin::brain {

// The defaults are the smallest whole brain: the visual pathway and the decision core naming
// MNIST digits (what `bench naming` runs). configs/default.yaml adds hearing and reading and
// configs/full.yaml every region.
struct BrainConfig {
  std::vector<std::string> regions = {"retina",        "occipital", "thalamus",    "hippocampus",
                                      "basal_ganglia", "motor",     "hypothalamus"};
  std::vector<std::string> connections = {"env.image -> retina.image",
                                          "retina.embedding -> occipital.input",
                                          "occipital.features -> thalamus.vision",
                                          "thalamus.fused -> hippocampus.state",
                                          "thalamus.focus -> basal_ganglia.state",
                                          "basal_ganglia.value -> motor.value",
                                          "basal_ganglia.bonus -> motor.bonus",
                                          "basal_ganglia.uncertainty -> motor.uncertainty",
                                          "hippocampus.recall -> motor.recall",
                                          "motor.emitted -> hypothalamus.emitted",
                                          "motor.expected -> hypothalamus.expected"};
  std::vector<std::string> env_ports = {"image=784"};
  std::vector<std::string> vocabulary = {"zero", "one", "two",   "three", "four",
                                         "five", "six", "seven", "eight", "nine"};
  std::string state_dir = "state";
  bool neurogenesis = true;
  bool gpu_debug = false;
  double save_every_s = 60.0;
  std::vector<std::string> senses = {"retina", "occipital", "cochlea", "auditory", "wernicke"};
  int64_t seed = 1;
  std::string transport = "inproc";
  std::string bus = "tcp://127.0.0.1:*";
  bool spawn_regions = true;
  std::string region_program;
  double bus_timeout_s = 120;
  std::vector<std::string> devices;

  template <class V>
  void visit(V& v) {
    v("regions", regions, "tick order of the regions; each a registered region kind");
    v("connections", connections, "wiring: \"src.port -> dst.port\"; src env = the world");
    v("env_ports", env_ports, "what the world shows, \"name=size\"");
    v("vocabulary", vocabulary, "the names the motor can emit (id = index)");
    v("state_dir", state_dir, "where each region's weights and memories are saved");
    v("neurogenesis", neurogenesis, "initialise regions whose file is missing or all zeros");
    v("gpu_debug", gpu_debug, "log each region's memory to logs/GPU_debug.log");
    v("save_every_s", save_every_s, "seconds between saves; 0 = only on exit", at_least(0));
    v("senses", senses,
      "sensor load: these regions idle (are not ticked and output zeros, which the thalamus "
      "gates out) in a tick where all they read is silent: world ports absent from the tick, "
      "or other idle senses. Each must read only those. [] = every region ticks always");
    v("seed", seed, "random seed of the whole brain; all randomness derives from it");
    v("transport", transport, "inproc | zmq (one process per region over ZeroMQ)",
      one_of({"inproc", "zmq"}));
    v("bus", bus, "zmq: the corpus callosum's address, e.g. tcp://127.0.0.1:5555 (* = any port)");
    v("spawn_regions", spawn_regions,
      "zmq: start each region process (and restart it if it dies); false = start them by hand");
    v("region_program", region_program, "zmq: the elarin binary to start; empty = this one");
    v("bus_timeout_s", bus_timeout_s, "zmq: seconds a region may take to answer a request",
      greater_than(0));
    v("devices", devices,
      "region=device pairs; unlisted regions run on cpu (the only device "
      "this build places regions on)");
  }
};

// The config of a brain: brain.* plus the settings of every kind in the table
// (region.<kind>.*), bound before any file is read so unknown keys are errors.
class BrainSetup {
 public:
  explicit BrainSetup(RegionTable table);
  void bind(Config& config);
  const RegionSettings& settings(const std::string& kind) const;
  const RegionTable& table() const { return table_; }
  // brain.* and region.<kind>.* as YAML: what a region process reads to build its region.
  std::string yaml() const;
  // The same as JSON text: what every region file's metadata holds (Config::kMetadataKey).
  std::string json() const;
  BrainConfig brain;

 private:
  RegionTable table_;
  std::map<std::string, std::unique_ptr<RegionSettings>> settings_;
};

// What every region is told at construction, from brain.*.
BrainFacts brain_facts(const BrainConfig& config);
// The neurogenesis seed of region `name`: from its name, not its place in brain.regions, so
// adding or removing a region (an ablation) leaves every other region's start as it was.
uint64_t region_seed(uint64_t brain_seed, const std::string& name);

// Whether two saved state files hold the same state: the same tensors, bit for bit, and the
// same metadata but for the stored config (which names its own state_dir and transport).
bool same_saved_state(const std::string& a, const std::string& b);

// A parsed connection.
struct Connection {
  std::string src, src_port, dst, dst_port;
  bool feedback = false;  // src ticks at or after dst: carries the previous tick's value
  // (dst size, src size) when the sizes differ and src is a pretrained sense
  // (region.<src>.pretrained): a fixed random projection with orthonormal rows or columns,
  // drawn from brain.seed and the connection's text. Undefined: the value passes as it is.
  torch::Tensor projection;
};
// Parses "src.port -> dst.port". Throws UsageError naming the text.
Connection parse_connection(const std::string& text);

struct TickResult {
  int64_t tick = 0;
  std::map<std::string, Ports> outputs;  // region -> its output ports
};

class Brain {
 public:
  explicit Brain(const BrainSetup& setup);
  ~Brain();

  // Restores every region from state_dir; a region whose file is missing or holds only
  // zeros is initialised (neurogenesis) or, with neurogenesis off, an Error. Returns the
  // regions that were initialised.
  std::vector<std::string> load_or_initialise();
  // One tick with the world's ports (each of brain.env_ports, float32 of its size).
  TickResult tick(const Ports& env);
  // The reward for the last tick: the hypothalamus (the first region that modulates) turns
  // it into neuromodulators, then every region learns. Without such a region dopamine = reward.
  // `delay_s`: seconds from the answer to this rating (the ifg ignores ratings later than
  // region.ifg.feedback_buffer_s).
  Neuromodulators feedback(double reward, bool treat = false, double delay_s = 0);
  // Writes every region's state and the brain's counters, each file atomically, with the
  // resolved config (brain.*, region.*) as JSON under Config::kMetadataKey in its metadata.
  void save() const;

  int64_t ticks() const { return tick_; }
  const BrainConfig& config() const { return config_; }
  const std::vector<std::string>& order() const { return order_; }
  const std::vector<Connection>& connections() const { return connections_; }
  Region& region(const std::string& name);
  // `value` of src.src_port as the connection to dst.dst_port carries it (through its
  // projection, if any); unchanged when no connection joins them. For work outside a tick
  // (development) that feeds one region's output to another.
  torch::Tensor carry(const std::string& src, const std::string& src_port, const std::string& dst,
                      const std::string& dst_port, const torch::Tensor& value) const;
  const BrainFacts& facts() const { return facts_; }
  // <state_dir>/<name>.safetensors
  std::string state_path(const std::string& name) const;
  // The relay of a brain with transport zmq; nullptr in one process.
  CorpusCallosum* bus() { return bus_.get(); }

 private:
  void start_bus(const BrainSetup& setup);
  void wire();  // parses and checks brain.connections
  bool pretrained_sense(const std::string& region) const;  // region.<region>.pretrained set
  void discard_bus();

  BrainConfig config_;
  BrainFacts facts_;
  std::vector<std::string> order_;
  std::map<std::string, std::unique_ptr<Region>> regions_;
  std::map<std::string, int64_t> env_sizes_;
  std::vector<Connection> connections_;
  std::vector<std::vector<std::string>> levels_;  // regions by dependency level (order kept)
  // Per listed sense in the brain: the world ports ("env.x") and senses it reads.
  std::map<std::string, std::vector<std::string>> sensory_sources_;
  std::map<std::string, Ports> last_;  // the previous tick's outputs (feedback edges)
  int64_t tick_ = 0;
  double temperature_ = 1.0;
  std::string config_json_;  // the resolved brain.* and region.*, stored in every file
  std::string bus_dir_;  // zmq: a temporary directory holding the regions' config file
  std::unique_ptr<CorpusCallosum> bus_;
};

}  // namespace elarin::brain
