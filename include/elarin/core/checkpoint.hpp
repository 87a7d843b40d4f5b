// Checkpoints: safetensors files whose __metadata__ carries the format version, the resolved
// config (JSON) and counters, written atomically. Leaves out optimizer-state layout, which
// the trainers add as ordinary tensors.
//
//   #include "elarin/core/config.hpp"
//   elarin::Config config;  // the resolved config, stored as JSON in the file
//   std::map<std::string, torch::Tensor> tensors = {{"w", torch::randn({4, 4})}};
//   elarin::save_checkpoint("state/moe.safetensors", tensors, config, {{"elarin.step", "42"}});
//   elarin::Checkpoint ck = elarin::load_checkpoint("state/moe.safetensors");  // checks the format
//   ck.tensors.at("w");  ck.metadata.at("elarin.step");  ck.config["runtime"]["seed"];
#pragma once

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace elarin {

class Config;

constexpr int kCheckpointFormat = 1;
constexpr const char* kFormatKey = "elarin.format_version";

struct Checkpoint {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
  nlohmann::json config;  // the resolved config stored at save time
};

// Writes `tensors` with metadata {elarin.format_version, elarin.config, ...extra} atomically.
void save_checkpoint(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                     const Config& config, const std::map<std::string, std::string>& extra = {});

// Reads a checkpoint; FormatError if it is not an elarin checkpoint or has another format
// version (naming both versions).
Checkpoint load_checkpoint(const std::string& path);

}  // namespace elarin
