// A region of the brain: a small model with named input and output ports (embedding
// sizes), a tick, optional plasticity driven by neuromodulators, and its own state (weights
// and memories) saved as `<state_dir>/<name>.safetensors`. Regions only see ports and
// neuromodulators, never a task's label. Kinds register in a table (RegionKind); the table
// itself lives with the regions (regions/registry.hpp), the runtime takes it as a parameter.
// Leaves out scheduling and transport: brain/brain.hpp and brain/corpus_callosum.hpp.
//
//   using namespace elarin::brain;
//   struct EchoSettings {  // bound under region.echo.*
//     int64_t size = 4;
//     template <class V>
//     void visit(V& v) { v("size", size, "port size", elarin::at_least(1)); }
//   };
//   class Echo : public Region {  // a stateless region: its output is its input
//    public:
//     Echo(const EchoSettings& s, const BrainFacts&) : Region("echo"), size_(s.size) {}
//     std::vector<PortSpec> inputs() const override { return {{"in", size_}}; }
//     std::vector<PortSpec> outputs() const override { return {{"out", size_}}; }
//     Ports tick(const TickContext&, const Ports& in) override { return {{"out", in.at("in")}}; }
//
//    private:
//     int64_t size_;
//   };
//   RegionTable table = {make_region_kind<Echo, EchoSettings>("echo", "copies its input")};
//   const RegionKind& kind = find_region_kind(table, "echo");  // UsageError lists the names
//   std::unique_ptr<RegionSettings> settings = kind.settings();
//   std::unique_ptr<Region> echo = kind.make(*settings, BrainFacts{});
//   Ports out = echo->tick(TickContext{}, {{"in", torch::ones({4})}});
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "elarin/core/config.hpp"

namespace elarin::brain {

struct PortSpec {
  std::string name;
  int64_t size = 0;  // a port carries a float32 vector of this many values
};

// Port name -> value (size) for one tick.
using Ports = std::map<std::string, torch::Tensor>;
// A region's whole state: dotted tensor names -> tensors (weights, memories, counters).
using RegionState = std::map<std::string, torch::Tensor>;

struct TickContext {
  int64_t tick = 0;          // ticks since the brain started (resumes across restarts)
  uint64_t seed = 0;         // per-tick random seed: brain.seed mixed with the tick
  double temperature = 1.0;  // selection temperature the hypothalamus set last feedback
};

// What the hypothalamus broadcasts after a reward.
struct Neuromodulators {
  int64_t tick = 0;
  double reward = 0.0;       // as given by the critic or the person
  double dopamine = 0.0;     // reward-prediction error (+ treat bonus); 0 = nothing to learn
  double temperature = 1.0;  // selection temperature for the next ticks
  bool treat = false;        // a person's explicit positive feedback
  int64_t action = -1;       // efference copy: the vocabulary id emitted that tick, -1 none
  double expected = 0.0;     // the value the brain predicted for that answer
  double delay_s = 0.0;      // seconds from the answer to this feedback (a person's latency)
};

// Facts every region may need at construction, fixed for a brain's life. A setting that
// only one kind reads is that kind's own (region.<kind>.*), not a fact.
struct BrainFacts {
  std::vector<std::string> vocabulary;  // the names the motor can emit, id = index
  uint64_t seed = 1;
};

class Region {
 public:
  explicit Region(std::string name) : name_(std::move(name)) {}
  virtual ~Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  const std::string& name() const { return name_; }
  virtual std::vector<PortSpec> inputs() const = 0;
  virtual std::vector<PortSpec> outputs() const = 0;
  // One tick: `in` holds every input port (zeros where nothing is connected); the result
  // must hold every output port with its declared size.
  virtual Ports tick(const TickContext& ctx, const Ports& in) = 0;
  // Plasticity after feedback; regions without any ignore it.
  virtual void learn(const Neuromodulators&) {}
  // The state to save. Tensor names are dotted keys without the region name.
  virtual RegionState state() const { return {}; }
  // Restores a saved state. Validates everything first and changes nothing on error
  // (throws FormatError naming the tensor and what was expected).
  virtual void load_state(const RegionState&) {}
  // Neurogenesis: fresh weights (Kaiming), empty memories.
  virtual void initialise(uint64_t seed) {}
  // Development: self-supervised learning before the brain runs, on a batch of values of
  // the region's first input port (rows). Regions that need none ignore it. No labels.
  virtual bool develops() const { return false; }
  virtual void develop(const torch::Tensor& samples, uint64_t seed) {}
  // What it has learned so far, as counters a dashboard follows (basal_ganglia's connections
  // woken from their sentinels, the ifg's punished answers kept, the hippocampus's episodes);
  // a change is a learning event. Cheap: called a few times a second. Default: none.
  virtual std::map<std::string, double> learning() const { return {}; }
  // Optional hook for hypothalamus-like regions: the neuromodulators for a reward.
  virtual bool modulates() const { return false; }
  virtual Neuromodulators neuromodulate(int64_t tick, double reward, bool treat) { return {}; }

  // Persistence of the region's own file. A region in another process does both there
  // (brain/remote_region.hpp); the defaults below work on state() / load_state().
  enum class Restored { kLoaded, kInitialised, kStateless };
  // Loads `path`; a missing or all-zero file means neurogenesis: initialise(seed), or with
  // `neurogenesis` off an Error. A stateless region (state() empty) needs no file.
  // A bad file is a FormatError naming the path; the region is then unchanged.
  virtual Restored restore(const std::string& path, bool neurogenesis, uint64_t seed);
  // Writes state() to `path` atomically with `metadata`; false (and no file) if stateless.
  virtual bool persist(const std::string& path,
                       const std::map<std::string, std::string>& metadata) const;

 private:
  std::string name_;
};

// A region kind's settings: a struct with defaults bound under `region.<kind>.`.
class RegionSettings {
 public:
  virtual ~RegionSettings() = default;
  virtual void bind(Config& config, const std::string& prefix) = 0;
};

template <class S>
class SettingsOf : public RegionSettings {
 public:
  void bind(Config& config, const std::string& prefix) override { config.add(prefix, value); }
  S value;
};

struct RegionKind {
  std::string name;     // registered name: the region's name, config prefix and file name
  std::string summary;  // one line for `elarin brain --help` and errors
  std::function<std::unique_ptr<RegionSettings>()> settings;
  std::function<std::unique_ptr<Region>(const RegionSettings&, const BrainFacts&)> make;
};
using RegionTable = std::vector<RegionKind>;

// The table entry of region class R with settings struct S (R(const S&, const BrainFacts&)).
template <class R, class S>
RegionKind make_region_kind(std::string name, std::string summary) {
  return {std::move(name), std::move(summary), [] { return std::make_unique<SettingsOf<S>>(); },
          [](const RegionSettings& s, const BrainFacts& f) -> std::unique_ptr<Region> {
            return std::make_unique<R>(static_cast<const SettingsOf<S>&>(s).value, f);
          }};
}

// The kind called `name` in `table`; UsageError listing the valid names otherwise.
const RegionKind& find_region_kind(const RegionTable& table, const std::string& name);

// The tensor `name` of a saved state, checked: dtype and shape (-1 = any extent).
// Throws FormatError naming the tensor and what was expected.
const torch::Tensor& state_tensor(const RegionState& state, const std::string& name,
                                  const std::vector<int64_t>& shape, torch::ScalarType dtype);

// Checks a tick's outputs against the declared ports: every port present, float32, of its
// size. Throws Error naming the region, port and sizes.
void check_ports(const std::string& region, const std::vector<PortSpec>& specs, const Ports& got);

}  // namespace elarin::brain
