// A two-region brain from a YAML string learns names from reward alone, is saved and resumed.
// The motor names what the world shows; the hypothalamus turns each reward into dopamine.
//
//   build/examples/brain_two_regions [TICKS=300]
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <set>
#include <string>
#include <utility>

#include <unistd.h>

#include "elarin/brain/brain.hpp"
#include "elarin/core/config.hpp"
#include "elarin/regions/registry.hpp"

namespace {

// brain.* wires the regions; region.<kind>.* sets each kind. The motor's reward model (a
// small sparse MoE) reads the world's 16-d state; the hypothalamus reads what the motor said
// and the value it expected, which makes dopamine = reward - expected.
const char* kBrainYaml = R"(
brain:
  regions: [motor, hypothalamus]
  env_ports: ["state=16"]
  vocabulary: [north, east, south, west]
  connections:
    - env.state -> motor.state
    - motor.emitted -> hypothalamus.emitted
    - motor.expected -> hypothalamus.expected
region:
  motor: {candidates: 4, input: 16, expert_count: 4, expert_hidden: 32, top_k: 2, lr: 0.1}
)";

// The world: noisy copies of four fixed unit vectors; the label is which one.
struct World {
  torch::Generator gen = at::detail::createCPUGenerator(7);
  torch::Tensor protos = torch::randn({4, 16}, gen);
  World() { protos /= protos.norm(2, 1, true); }
  std::pair<torch::Tensor, int64_t> next() {
    const int64_t label = torch::randint(4, {1}, gen).item<int64_t>();
    return {protos[label] + 0.1 * torch::randn({16}, gen), label};
  }
};

}  // namespace

int main(int argc, char** argv) try {
  const int ticks = argc > 1 ? std::atoi(argv[1]) : 300;
  const auto state_dir = std::filesystem::temp_directory_path() /
                         ("elarin_brain_example_" + std::to_string(::getpid()));
  std::filesystem::remove_all(state_dir);

  // Bind every key first (brain.* and each kind's region.<kind>.*), then read the YAML:
  // an unknown key or a bad value fails here, naming the key.
  elarin::Config config;
  elarin::brain::BrainSetup setup(elarin::regions::region_table());
  setup.bind(config);
  config.load_string(kBrainYaml, "brain_two_regions");
  config.set("brain.state_dir=" + state_dir.string());

  elarin::brain::Brain brain(setup);
  for (const auto& name : brain.load_or_initialise())  // no files yet: neurogenesis
    std::printf("grew %s\n", name.c_str());
  const auto& vocabulary = brain.config().vocabulary;

  World world;
  int right = 0;
  for (int t = 1; t <= ticks; ++t) {
    auto [x, label] = world.next();
    const auto result = brain.tick({{"state", x}});  // every region's output ports
    const int64_t said = result.outputs.at("motor").at("emitted").argmax().item<int64_t>();
    const auto mods = brain.feedback(said == label ? 1.0 : -1.0);  // dopamine, then learning
    right += said == label;
    if (t <= 5)
      std::printf("tick %d: shown %-5s said %-5s dopamine %+.2f\n", t, vocabulary[label].c_str(),
                  vocabulary[said].c_str(), mods.dopamine);
    if (t % 100 == 0) {
      std::printf("ticks %3d-%3d: %3d%% right (chance 25%%), reward rate %.2f\n", t - 99, t, right,
                  result.outputs.at("hypothalamus").at("reward_rate").item<double>());
      right = 0;
    }
  }

  // One safetensors file per region (and the brain's counters), each written atomically.
  brain.save();
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir))
    files.insert(entry.path().filename().string());
  for (const auto& name : files) std::printf("saved %s\n", name.c_str());

  // A second brain on the same config resumes from those files and answers identically.
  elarin::brain::Brain resumed(setup);
  const bool grew = !resumed.load_or_initialise().empty();
  const int64_t resumed_at = resumed.ticks();
  int same = 0;
  for (int t = 0; t < 20; ++t) {
    auto [x, label] = world.next();
    auto a = brain.tick({{"state", x}}), b = resumed.tick({{"state", x}});
    same += torch::equal(a.outputs.at("motor").at("emitted"), b.outputs.at("motor").at("emitted"));
  }
  std::printf("resumed at tick %lld: %d of 20 answers as the original\n",
              static_cast<long long>(resumed_at), same);
  std::filesystem::remove_all(state_dir);
  return !grew && same == 20 ? 0 : 1;
} catch (const std::exception& e) {  // elarin throws UsageError, Error, FormatError
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
