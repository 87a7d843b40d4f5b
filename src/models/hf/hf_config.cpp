// Hugging Face config.json reader, RoPE base lookup and the activation table (ACT2FN subset).
#include "elarin/models/hf/hf_config.hpp"

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <algorithm>
#include <cmath>

namespace elarin {
namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_number_float()) return "number " + value.dump();
  if (value.is_number()) return "integer " + value.dump();
  std::string shown = value.dump();
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  return std::string(value.type_name()) + " " + shown;
}

torch::Tensor act_gelu(const torch::Tensor& x) { return torch::gelu(x); }
torch::Tensor act_gelu_tanh(const torch::Tensor& x) { return torch::gelu(x, "tanh"); }
torch::Tensor act_quick_gelu(const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); }
torch::Tensor act_relu(const torch::Tensor& x) { return torch::relu(x); }
torch::Tensor act_silu(const torch::Tensor& x) { return torch::silu(x); }

struct ActivationEntry {
  const char* name;
  Activation fn;
};

// Registered names are Hugging Face's ACT2FN keys: a config-file contract.
constexpr ActivationEntry kActivations[] = {
    {"gelu", act_gelu},
    {"gelu_new", act_gelu_tanh},
    {"gelu_pytorch_tanh", act_gelu_tanh},
    {"quick_gelu", act_quick_gelu},
    {"relu", act_relu},
    {"silu", act_silu},
};

}  // namespace

HfConfig::HfConfig(std::shared_ptr<const nlohmann::json> root, const nlohmann::json* node,
                   std::string origin, std::string key_prefix)
    : json_(std::move(root)), node_(node), origin_(std::move(origin)),
      key_prefix_(std::move(key_prefix)) {}

HfConfig HfConfig::from_json(const nlohmann::json& json, const std::string& origin) {
  if (!json.is_object()) {
    throw FormatError(origin + ": expected a JSON object at the top level, got " +
                      json_type_name(json));
  }
  auto root = std::make_shared<const nlohmann::json>(json);
  const nlohmann::json* node = root.get();
  return HfConfig(std::move(root), node, origin, "");
}

HfConfig HfConfig::parse(const std::string& text, const std::string& origin) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(origin + ": not valid JSON: " + e.what());
  }
  return from_json(json, origin);
}

HfConfig HfConfig::load(const std::string& path) {
  const std::string file = is_directory(path) ? path + "/config.json" : path;
  return parse(read_file(file), file);
}

bool HfConfig::has(const std::string& key) const { return find(key) != nullptr; }

const nlohmann::json* HfConfig::find(const std::string& key) const {
  auto it = node_->find(key);
  if (it == node_->end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json& HfConfig::require(const std::string& key, const char* expected) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) {
    throw FormatError(origin_ + ": missing key '" + key_prefix_ + key + "' (expected " +
                      expected + ")");
  }
  return *value;
}

void HfConfig::type_error(const std::string& key, const nlohmann::json& value,
                          const char* expected) const {
  throw FormatError(origin_ + ": key '" + key_prefix_ + key + "' is " + json_type_name(value) +
                    ", expected " + expected);
}

int64_t HfConfig::get_int(const std::string& key) const {
  const auto& value = require(key, "an integer");
  if (value.is_number_integer()) return value.get<int64_t>();
  // Some exporters write integral floats ("n_head": 4.0); accept those, refuse 4.5.
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && std::floor(d) == d) return static_cast<int64_t>(d);
  }
  type_error(key, value, "an integer");
}

int64_t HfConfig::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double HfConfig::get_double(const std::string& key) const {
  const auto& value = require(key, "a number");
  if (!value.is_number()) type_error(key, value, "a number");
  return value.get<double>();
}

double HfConfig::get_double(const std::string& key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}

bool HfConfig::get_bool(const std::string& key) const {
  const auto& value = require(key, "true or false");
  if (!value.is_boolean()) type_error(key, value, "true or false");
  return value.get<bool>();
}

bool HfConfig::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? get_bool(key) : fallback;
}

std::string HfConfig::get_string(const std::string& key) const {
  const auto& value = require(key, "a string");
  if (!value.is_string()) type_error(key, value, "a string");
  return value.get<std::string>();
}

std::string HfConfig::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

HfConfig HfConfig::sub(const std::string& key) const {
  const auto& value = require(key, "an object");
  if (!value.is_object()) type_error(key, value, "an object");
  return HfConfig(json_, &value, origin_, key_prefix_ + key + ".");
}

double rope_theta(const HfConfig& cfg) {
  if (cfg.has("rope_theta")) return cfg.get_double("rope_theta");
  if (cfg.has("rope_parameters")) {
    const HfConfig params = cfg.sub("rope_parameters");
    if (params.has("rope_theta")) return params.get_double("rope_theta");
  }
  return 10000.0;
}

nn::RopeScaling rope_scaling(const HfConfig& cfg) {
  nn::RopeScaling s;
  const bool legacy = cfg.has("rope_scaling") && !cfg.object().at("rope_scaling").empty();
  if (!legacy && !cfg.has("rope_parameters")) return s;
  const char* key = legacy ? "rope_scaling" : "rope_parameters";
  const HfConfig params = cfg.sub(key);
  const std::string type_key =
      params.has("rope_type") || !params.has("type") ? "rope_type" : "type";
  if (!params.has(type_key)) {
    // transformers 5 writes one rope_parameters object per attention kind for models that
    // mix them ({"full_attention": {...}, "sliding_attention": {...}}).
    for (const auto& [name, value] : params.object().items())
      if (value.is_object())
        throw FormatError(cfg.origin() + ": key '" + params.key_path(name) +
                          "': per-layer-type RoPE parameters are not supported");
  }
  s.type = params.get_string(type_key, "default");
  const auto& types = nn::rope_scaling_types();
  if (std::find(types.begin(), types.end(), s.type) == types.end())
    throw FormatError(cfg.origin() + ": key '" + params.key_path(type_key) + "' is '" + s.type +
                      "': RoPE scaling types supported are " + join_names(types));
  if (s.type == "linear" || s.type == "llama3") s.factor = params.get_double("factor");
  if (s.type == "llama3") {
    s.low_freq_factor = params.get_double("low_freq_factor");
    s.high_freq_factor = params.get_double("high_freq_factor");
    s.original_max_position_embeddings = params.get_int("original_max_position_embeddings");
  }
  try {
    s.validate(params.key_path("").substr(0, params.key_path("").size() - 1));
  } catch (const UsageError& e) {
    throw FormatError(cfg.origin() + ": " + e.what());
  }
  return s;
}

std::vector<std::string> activation_names() { return names_of(kActivations); }

Activation activation(const std::string& name) {
  return find_named(kActivations, name, "activation").fn;
}

Activation activation_from_config(const HfConfig& cfg, const std::string& key,
                                  const std::string& fallback) {
  const std::string name = cfg.get_string(key, fallback);
  try {
    return activation(name);
  } catch (const UsageError& e) {
    throw FormatError(cfg.origin() + ": key '" + cfg.key_path(key) + "': " + e.what());
  }
}

}  // namespace elarin
