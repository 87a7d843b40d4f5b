// Strict safetensors -> module loading, HfModel's request checks and the model_type registry of
// pretrained HF encoders. The architectures' HfModels live in their model files.
#include "elarin/models/hf/loader.hpp"

#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"
#include "elarin/models/hf/clip_vision.hpp"
#include "elarin/models/hf/gpt2.hpp"
#include "elarin/models/hf/hf_config.hpp"
#include "elarin/models/hf/llama.hpp"
#include "elarin/models/hf/whisper_encoder.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace elarin {
namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

// "a, b, c ... and 12 more": keeps messages readable for checkpoints with thousands of names.
std::string name_list(const std::vector<std::string>& names, size_t shown = 12) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > shown) out += " ... and " + std::to_string(names.size() - shown) + " more";
  return out;
}

}  // namespace

void load_state(torch::nn::Module& module, const SafeTensors& st, const std::string& prefix,
                const std::vector<std::string>& ignore) {
  std::vector<std::regex> ignored;
  for (const auto& pattern : ignore) {
    try {
      ignored.emplace_back(pattern);
    } catch (const std::regex_error& e) {
      throw UsageError("load_state ignore pattern '" + pattern + "': " + e.what());
    }
  }
  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) targets.emplace_back(item.key(), item.value());

  // Validate everything first; read the tensors into the module only when all is well.
  std::set<std::string> used;
  std::vector<std::string> missing, mismatched;
  std::vector<std::string> source(targets.size());  // the file's name of each target
  std::vector<torch::Tensor> bools(targets.size());  // BOOL tensors, read (and checked) first
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string file_name = prefix + targets[i].first;
    const torch::Tensor& target = targets[i].second;
    if (!st.contains(file_name)) {
      missing.push_back(file_name);
      continue;
    }
    used.insert(file_name);
    const TensorInfo& info = st.info(file_name);
    if (c10::IntArrayRef(info.shape) != target.sizes()) {
      mismatched.push_back(file_name + " has shape " + shape_string(info.shape) + ", expected " +
                           shape_string(target.sizes()));
      continue;
    }
    const torch::ScalarType file_type = safetensors_dtype(info.dtype);
    const bool convertible = c10::isFloatingType(file_type) && c10::isFloatingType(target.scalar_type());
    if (file_type != target.scalar_type() && !convertible) {
      mismatched.push_back(file_name + " has dtype " + info.dtype + ", expected " +
                           safetensors_dtype_name(target.scalar_type()));
      continue;
    }
    source[i] = file_name;
    if (info.dtype == "BOOL") bools[i] = st.tensor(file_name);  // throws on a byte not 0 or 1
  }
  std::vector<std::string> unexpected;
  for (const auto& name : st.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0 || used.count(name) > 0) continue;
    const bool skip = std::any_of(ignored.begin(), ignored.end(),
                                  [&](const std::regex& re) { return std::regex_match(name, re); });
    if (!skip) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = st.path() + ": does not fit " + module.name();
    if (!prefix.empty()) msg += " (tensor names under '" + prefix + "')";
    if (!missing.empty()) msg += "; missing " + std::to_string(missing.size()) + ": " + name_list(missing);
    if (!unexpected.empty()) {
      msg += "; unexpected " + std::to_string(unexpected.size()) + ": " + name_list(unexpected);
    }
    if (!mismatched.empty()) msg += "; " + name_list(mismatched, 6);
    throw FormatError(msg);
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (bools[i].defined())
      targets[i].second.copy_(bools[i]);
    else
      st.read_into(source[i], targets[i].second);
  }
}

std::string hf_weights_path(const std::string& dir) {
  const std::string path = dir + "/model.safetensors";
  if (file_exists(path)) return path;
  if (file_exists(dir + "/model.safetensors.index.json")) {
    throw Error(dir + ": sharded checkpoints (model.safetensors.index.json) are not supported; "
                "expected a single model.safetensors");
  }
  if (file_exists(dir + "/pytorch_model.bin")) {
    throw Error(dir + ": has pytorch_model.bin but no model.safetensors; only safetensors are "
                "read (convert with transformers: model.save_pretrained(dir, safe_serialization=True))");
  }
  throw Error("cannot open '" + path + "': no such file (expected a Hugging Face checkpoint "
              "directory with config.json and model.safetensors)");
}

HfModel::HfModel(std::string model_type, std::string architecture, std::string dir)
    : model_type_(std::move(model_type)), architecture_(std::move(architecture)),
      dir_(std::move(dir)) {}

torch::Tensor HfModel::encode(const torch::Tensor& input, const HfEncodeRequest& request) {
  const std::vector<std::string> valid = outputs();
  if (std::find(valid.begin(), valid.end(), request.output) == valid.end())
    throw UsageError(unknown_name_message(architecture_ + " output", request.output, valid));
  std::optional<int64_t> layer;
  if (request.layer) {
    const bool takes_layer =
        request.output == "hidden" || (request.output == "pooled" && pooled_takes_layer());
    if (!takes_layer) {
      throw UsageError(architecture_ + " output '" + request.output +
                       "' takes no layer; a layer applies to 'hidden'" +
                       (pooled_takes_layer() ? " and 'pooled'" : ""));
    }
    const int64_t n = layer_count();
    const int64_t resolved = *request.layer < 0 ? *request.layer + n + 1 : *request.layer;
    if (resolved < 0 || resolved > n) {
      throw UsageError(architecture_ + " layer: got " + std::to_string(*request.layer) +
                       ", expected 0.." + std::to_string(n) + " (or -1..-" +
                       std::to_string(n + 1) + " from the end)");
    }
    layer = resolved;
  }
  if (request.mask.defined() && architecture_ != "gpt2") {
    throw UsageError(architecture_ + ": a token mask applies to gpt2 only");
  }
  module().eval();
  if (request.grad) return run(input, request.output, layer, request.mask);
  torch::NoGradGuard no_grad;
  return run(input, request.output, layer, request.mask);
}

const std::vector<HfArchitecture>& hf_architectures() {
  // Registered model_type names are config.json contracts: never rename them.
  static const std::vector<HfArchitecture> table = {
      {"gpt2", "gpt2", load_gpt2_handle},
      {"clip_vision_model", "clip_vision", load_clip_vision_handle},
      {"clip", "clip_vision", load_clip_vision_handle},
      {"whisper", "whisper_encoder", load_whisper_encoder_handle},
      {"llama", "elara", load_elara_handle},
      {"qwen2", "elara", load_elara_handle},
      {"qwen2_moe", "elara", load_elara_handle},
      {"qwen3", "elara", load_elara_handle},
      {"qwen3_moe", "elara", load_elara_handle},
  };
  return table;
}

std::vector<std::string> hf_model_types() { return names_of(hf_architectures()); }

std::unique_ptr<HfModel> load_hf_model(const std::string& dir) {
  const HfConfig cfg = HfConfig::load(dir);
  const std::string type = cfg.get_string("model_type");
  const HfArchitecture* arch = try_find_named(hf_architectures(), type);
  if (arch == nullptr)
    throw UsageError(cfg.origin() + ": " +
                     unknown_name_message("model_type", type, hf_model_types()));
  return arch->load(*arch, dir);
}

}  // namespace elarin
