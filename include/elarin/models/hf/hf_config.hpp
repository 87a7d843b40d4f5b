// Hugging Face `config.json` reader with typed getters, the RoPE base and scaling in both
// config forms, and the activation table shared by the HF models. Leaves out:
// tokenizer/processor configs.
//
//   auto cfg = elarin::HfConfig::load("fixtures/gpt2-tiny");  // dir or config.json path
//   int64_t n_embd = cfg.get_int("n_embd");                   // FormatError if absent/mistyped
//   int64_t n_inner = cfg.get_int("n_inner", 4 * n_embd);     // null or absent -> default
//   double theta = elarin::rope_theta(cfg);                   // rope_theta or rope_parameters
//   elarin::nn::RopeScaling scaling = elarin::rope_scaling(cfg);  // "default" when none
//   auto act = elarin::activation_from_config(cfg, "activation_function", "gelu_new");
//   torch::Tensor y = act(torch::randn({2, n_embd}));
#pragma once

#include <torch/types.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "elarin/nn/rope_scaling.hpp"

namespace elarin {

// One JSON object of a config file (the whole file, or a nested object such as
// `vision_config`). Getters throw FormatError naming the key (dotted from the file's root),
// the file, the value found and the type expected. A JSON null counts as absent.
class HfConfig {
 public:
  // `path` is a model directory (reads `<dir>/config.json`) or the JSON file itself.
  static HfConfig load(const std::string& path);
  // `origin` names the source in error messages.
  static HfConfig from_json(const nlohmann::json& json, const std::string& origin);
  static HfConfig parse(const std::string& text, const std::string& origin);

  const std::string& origin() const { return origin_; }
  const nlohmann::json& json() const { return *json_; }  // the whole file
  const nlohmann::json& object() const { return *node_; }  // this object: root or nested
  bool has(const std::string& key) const;  // present and not null
  // `key` as messages show it: dotted from the file's root ("vision_config.hidden_size").
  std::string key_path(const std::string& key) const { return key_prefix_ + key; }

  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key) const;  // any JSON number
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // Nested object (e.g. "vision_config"); error names it if absent or not an object.
  HfConfig sub(const std::string& key) const;

 private:
  HfConfig(std::shared_ptr<const nlohmann::json> root, const nlohmann::json* node, std::string origin,
           std::string key_prefix);
  const nlohmann::json* find(const std::string& key) const;  // nullptr when absent or null
  const nlohmann::json& require(const std::string& key, const char* expected) const;
  [[noreturn]] void type_error(const std::string& key, const nlohmann::json& value,
                               const char* expected) const;

  std::shared_ptr<const nlohmann::json> json_;  // keeps the root alive for nested views
  const nlohmann::json* node_ = nullptr;        // this object inside *json_
  std::string origin_;                          // file path, for messages
  std::string key_prefix_;                      // "vision_config." for a nested view
};

// RoPE base frequency: top-level `rope_theta` (transformers < 4.56 style), else
// `rope_parameters.rope_theta` (newer `rope_parameters` form), else 10000.
double rope_theta(const HfConfig& cfg);

// RoPE scaling: `rope_scaling` (transformers < 4.56; the type under `rope_type` or `type`),
// else `rope_parameters.rope_type` and its fields, else none ("default"). A type other than
// default, linear and llama3 (yarn, dynamic, longrope...), a missing field or a bad value is a
// FormatError naming the key and the value.
nn::RopeScaling rope_scaling(const HfConfig& cfg);

// Element-wise activation by its Hugging Face name (ACT2FN).
using Activation = torch::Tensor (*)(const torch::Tensor&);
// Names in the table: gelu (exact erf), gelu_new and gelu_pytorch_tanh (tanh approximation),
// quick_gelu (x * sigmoid(1.702 x)), relu, silu.
std::vector<std::string> activation_names();
// Unknown name: UsageError listing the valid names.
Activation activation(const std::string& name);
// activation(cfg.get_string(key, fallback)); an unknown name is a FormatError naming the key.
Activation activation_from_config(const HfConfig& cfg, const std::string& key,
                                  const std::string& fallback);

}  // namespace elarin
