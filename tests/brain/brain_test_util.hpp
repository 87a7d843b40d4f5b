// The test brain shared by tests/brain: the decision core of configs/default.yaml naming
// noisy copies of 10 fixed 128-d prototypes, built from a YAML config (no MNIST needed).
//
//   elarin::test::TestBrain s(dir.path, {"brain.transport=zmq"});
//   elarin::brain::Brain brain(s.setup);
//   elarin::test::World world;
//   auto [x, label] = world.next();
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "elarin/brain/brain.hpp"
#include "elarin/regions/registry.hpp"

namespace elarin::test {

inline constexpr int kNames = 10;

// A brain's config from YAML, its state directory, then `extra` overrides.
struct YamlBrain {
  elarin::Config config;
  elarin::brain::BrainSetup setup{elarin::regions::region_table()};
  YamlBrain(const std::string& yaml, const std::string& state_dir,
            const std::vector<std::string>& extra) {
    setup.bind(config);
    config.load_string(yaml, "test");
    config.set("brain.state_dir=" + state_dir);
    config.set_all(extra);
  }
};

// The YAML of a brain that names 128-d stimuli with `regions` (in order): the decision core of
// configs/default.yaml's connections, then `connections` (lines "    - a.p -> b.q\n") and
// `tail` (more top-level YAML).
inline std::string decision_core(const std::string& regions, const std::string& connections = "",
                                 const std::string& tail = "") {
  return R"(
brain:
  regions: [)" +
         regions + R"(]
  env_ports: ["vision=128"]
  vocabulary: [p0, p1, p2, p3, p4, p5, p6, p7, p8, p9]
  connections:
    - env.vision -> thalamus.vision
    - thalamus.fused -> hippocampus.state
    - thalamus.focus -> basal_ganglia.state
    - basal_ganglia.value -> motor.value
    - basal_ganglia.bonus -> motor.bonus
    - basal_ganglia.uncertainty -> motor.uncertainty
    - hippocampus.recall -> motor.recall
    - motor.emitted -> hypothalamus.emitted
    - motor.expected -> hypothalamus.expected
)" + connections +
         tail;
}

// A brain that names 128-d stimuli: the decision core of configs/default.yaml.
struct TestBrain : YamlBrain {
  explicit TestBrain(const std::string& state_dir, std::vector<std::string> extra = {})
      : YamlBrain(decision_core("thalamus, hippocampus, basal_ganglia, motor, hypothalamus"),
                  state_dir, extra) {}
};

// The test brain plus consolidation: the hippocampus replays 2 episodes a tick to a small dmn,
// whose value the motor mixes into the basal ganglia's (`consolidated`).
struct ConsolidatingBrain : YamlBrain {
  explicit ConsolidatingBrain(const std::string& state_dir, std::vector<std::string> extra = {})
      : YamlBrain(decision_core("thalamus, hippocampus, dmn, basal_ganglia, motor, hypothalamus",
                                R"(    - thalamus.fused -> dmn.state
    - hippocampus.replay_state -> dmn.replay_state
    - hippocampus.replay_answer -> dmn.replay_answer
    - hippocampus.replay_outcome -> dmn.replay_outcome
    - dmn.value -> motor.consolidated
)",
                                R"(region:
  hippocampus: {replay: 2}
  dmn: {replay: 2, expert_count: 4, expert_hidden: 32, lr: 0.003}  # states at length sqrt(512)
  motor: {consolidated_mix: 0.5}
)"),
                  state_dir, extra) {}
};

// Noisy copies of 10 fixed unit prototypes; the label is the prototype's index.
struct World {
  torch::Tensor protos;
  torch::Generator gen = at::detail::createCPUGenerator(7);
  World() {
    auto g = at::detail::createCPUGenerator(3);
    protos = torch::randn({kNames, 128}, g);
    protos /= protos.norm(2, 1, true);
  }
  std::pair<torch::Tensor, int64_t> next() {
    const int64_t label = torch::randint(kNames, {1}, gen).item<int64_t>();
    auto x = protos[label] + 0.06 * torch::randn({128}, gen);
    return {x, label};
  }
};

inline int64_t emitted(const elarin::brain::TickResult& r) {
  return r.outputs.at("motor").at("emitted").argmax().item<int64_t>();
}

// Two senses and the thalamus: image -> retina -> occipital and text -> wernicke (small).
struct TwoSenses : YamlBrain {
  TwoSenses(const std::string& dir, const std::vector<std::string>& extra)
      : YamlBrain(R"(
brain:
  regions: [retina, occipital, wernicke, thalamus]
  env_ports: ["image=784", "text=32"]
  connections:
    - env.image -> retina.image
    - retina.embedding -> occipital.input
    - occipital.features -> thalamus.vision
    - env.text -> wernicke.text
    - wernicke.meaning -> thalamus.text
  senses: [retina, occipital, wernicke]
region:
  wernicke: {layers: 2, front: 1}
)",
                  dir, extra) {}
};

}  // namespace elarin::test
