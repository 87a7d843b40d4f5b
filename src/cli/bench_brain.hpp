// `elarin bench naming`, `bench bus` and `bench rule` (src/cli/bench_brain.cpp). naming: the task's benchmark in
// one run. The senses develop once (unlabeled); then, per stream order, the full brain, its
// ablations (no hippocampus, no dopamine modulation, no sentinels) and the baselines on
// the full brain's recorded features (LinUCB over an alpha grid, epsilon-greedy, a
// supervised linear readout as the upper bound).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace elarin::cli {

struct BenchBrainOptions {
  std::string config_file;             // default: configs/default.yaml if present
  std::vector<std::string> overrides;  // --set
  int64_t episodes = 3000;
  int64_t seeds = 1;  // stream orders 1..seeds
  std::string dir;    // default: <log.runs_dir>/bench-brain
};

nlohmann::json bench_brain(const BenchBrainOptions& options);

// `elarin bench bus`: the same brain and stream in one process and as one process per region
// over ZeroMQ; ticks/s of each, their ratio, and whether answers and saved state are identical.
nlohmann::json bench_bus(const BenchBrainOptions& options);

// `elarin bench rule`: a rule that needs working memory (task.rule, default config
// configs/rule.yaml). From the same developed senses and per stream order, the pfc with
// learned gating (PBWM), the recency pfc and no pfc; trials to 80% and accuracy per cue.
nlohmann::json bench_rule(const BenchBrainOptions& options);

// `elarin bench lora`: the naming task (MNIST digits) with a pretrained retina
// (region.retina.pretrained, required), once frozen (lora_rank 0) and once with online LoRA
// adapters, from the same developed senses and per stream order; accuracy_last_500 of each,
// the difference in points, ticks/s and the adapters' steps.
nlohmann::json bench_lora(const BenchBrainOptions& options);

}  // namespace elarin::cli
