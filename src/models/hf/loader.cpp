// Strict safetensors -> module loading, and the model_type registry of pretrained HF encoders.
#include "elarin/models/hf/loader.hpp"

#include "elarin/core/errors.hpp"
#include "elarin/models/hf/clip_vision.hpp"
#include "elarin/models/hf/gpt2.hpp"
#include "elarin/models/hf/llama.hpp"
#include "elarin/models/hf/hf_config.hpp"
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

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
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

  // Validate everything first and stage converted copies; commit only when all is well.
  std::set<std::string> used;
  std::vector<std::string> missing, mismatched;
  std::vector<torch::Tensor> staged(targets.size());
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
    staged[i] = st.tensor(file_name).to(target.scalar_type());
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
  for (size_t i = 0; i < targets.size(); ++i) targets[i].second.copy_(staged[i]);
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
  if (std::find(valid.begin(), valid.end(), request.output) == valid.end()) {
    throw UsageError(architecture_ + " output '" + request.output + "': expected one of: " +
                     joined(valid));
  }
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
  torch::NoGradGuard no_grad;
  module().eval();
  return run(input, request.output, layer, request.mask);
}

namespace {

class Gpt2Handle : public HfModel {
 public:
  Gpt2Handle(const std::string& type, const std::string& dir)
      : HfModel(type, "gpt2", dir), model_(load_gpt2_lm_head_model(dir)) {}

  std::string input_name() const override { return "input_ids"; }
  std::vector<int64_t> input_shape() const override { return {-1, -1}; }
  std::vector<std::string> outputs() const override { return {"pooled", "hidden", "logits"}; }
  int64_t layer_count() const override { return model_->config().n_layer; }
  int64_t output_size(const std::string& output) const override {
    return output == "logits" ? model_->config().vocab_size : model_->config().n_embd;
  }
  void to(torch::Device device) override { model_->to(device); }
  torch::nn::Module& module() override { return *model_; }

 protected:
  bool pooled_takes_layer() const override { return true; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    if (output == "logits") return model_->forward(input);  // (B, T, V)
    GPT2LMOutput out = model_->forward_full(input, nullptr, /*keep_hidden=*/true);
    const torch::Tensor& hidden = out.hidden[layer.value_or(layer_count())];  // (B, T, C)
    if (output == "hidden") return hidden;
    return mean_over_tokens(hidden, mask.defined() ? mask.to(hidden.device()) : mask);  // (B, C)
  }

 private:
  GPT2LMHeadModel model_;
};

class ClipVisionHandle : public HfModel {
 public:
  ClipVisionHandle(const std::string& type, const std::string& dir)
      : HfModel(type, "clip_vision", dir), model_(load_retina(dir)) {}

  std::string input_name() const override { return "pixel_values"; }
  std::vector<int64_t> input_shape() const override {
    const auto& c = model_->config();
    return {-1, c.num_channels, c.image_size, c.image_size};
  }
  std::vector<std::string> outputs() const override { return {"pooled", "hidden"}; }
  int64_t layer_count() const override { return model_->config().num_hidden_layers; }
  int64_t output_size(const std::string& output) const override {
    return output == "pooled" ? model_->config().projection_dim : model_->config().hidden_size;
  }
  void to(torch::Device device) override { model_->to(device); }
  torch::nn::Module& module() override { return *model_; }

 protected:
  bool pooled_takes_layer() const override { return false; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    CLIPVisionOutput out = model_->forward(input, /*keep_hidden=*/layer.has_value());
    if (output == "pooled") return out.image_embeds;                   // (B, projection_dim)
    return layer ? out.hidden[*layer] : out.last_hidden_state;         // (B, 1 + P, C)
  }

 private:
  Retina model_;
};

class WhisperEncoderHandle : public HfModel {
 public:
  WhisperEncoderHandle(const std::string& type, const std::string& dir)
      : HfModel(type, "whisper_encoder", dir), model_(load_cochlea(dir)) {}

  std::string input_name() const override { return "input_features"; }
  std::vector<int64_t> input_shape() const override {
    const auto& c = model_->config();
    return {-1, c.num_mel_bins, 2 * c.max_source_positions};
  }
  std::vector<std::string> outputs() const override { return {"pooled", "hidden"}; }
  int64_t layer_count() const override { return model_->config().encoder_layers; }
  int64_t output_size(const std::string& output) const override { return model_->config().d_model; }
  void to(torch::Device device) override { model_->to(device); }
  torch::nn::Module& module() override { return *model_; }

 protected:
  bool pooled_takes_layer() const override { return true; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    WhisperEncoderOutput out = model_->forward(input, /*keep_hidden=*/layer.has_value());
    const torch::Tensor& hidden = layer ? out.hidden[*layer] : out.last;  // (B, T', C)
    return output == "hidden" ? hidden : hidden.mean(1);                 // (B, C)
  }

 private:
  Cochlea model_;
};

// Llama / Qwen2 / Qwen2-MoE as an Elara model: hidden states and logits.
class ElaraHandle : public HfModel {
 public:
  ElaraHandle(const std::string& type, const std::string& dir)
      : HfModel(type, "elara", dir), model_(load_hf_elara(dir)) {}

  std::string input_name() const override { return "input_ids"; }
  std::vector<int64_t> input_shape() const override { return {-1, -1}; }
  std::vector<std::string> outputs() const override { return {"hidden", "logits"}; }
  int64_t layer_count() const override {
    return model_->config().n_layer * model_->config().recursion_depth;
  }
  int64_t output_size(const std::string& output) const override {
    return output == "logits" ? model_->config().vocab_size : model_->config().n_embd;
  }
  void to(torch::Device device) override { model_->to(device); }
  torch::nn::Module& module() override { return *model_; }

 protected:
  bool pooled_takes_layer() const override { return false; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    const auto& c = model_->config();
    if (input.dim() != 2 || input.size(1) > c.block_size || input.numel() == 0 ||
        input.min().item<int64_t>() < 0 || input.max().item<int64_t>() >= c.vocab_size)
      throw UsageError("input_ids: expected (B, T) ids in 0.." + std::to_string(c.vocab_size - 1) +
                       " with T <= " + std::to_string(c.block_size) + ", got shape " +
                       c10::str(input.sizes()));
    auto out = model_->forward(input, nullptr, /*keep_hidden_states=*/output == "hidden");
    if (output == "logits") return out.logits;                          // (B, T, V)
    return out.hidden_states[static_cast<size_t>(layer.value_or(layer_count()))];  // (B, T, C)
  }

 private:
  models::ElaraModel model_;
};

template <typename Handle>
std::unique_ptr<HfModel> load_handle(const std::string& type, const std::string& dir) {
  return std::make_unique<Handle>(type, dir);
}

std::unique_ptr<HfModel> load_gpt2(const std::string& dir) { return load_handle<Gpt2Handle>("gpt2", dir); }
std::unique_ptr<HfModel> load_clip_vision(const std::string& dir) {
  return load_handle<ClipVisionHandle>("clip_vision_model", dir);
}
std::unique_ptr<HfModel> load_clip(const std::string& dir) { return load_handle<ClipVisionHandle>("clip", dir); }
std::unique_ptr<HfModel> load_whisper(const std::string& dir) {
  return load_handle<WhisperEncoderHandle>("whisper", dir);
}
std::unique_ptr<HfModel> load_llama(const std::string& dir) { return load_handle<ElaraHandle>("llama", dir); }
std::unique_ptr<HfModel> load_qwen2(const std::string& dir) { return load_handle<ElaraHandle>("qwen2", dir); }
std::unique_ptr<HfModel> load_qwen2_moe(const std::string& dir) {
  return load_handle<ElaraHandle>("qwen2_moe", dir);
}

}  // namespace

const std::vector<HfArchitecture>& hf_architectures() {
  // Registered model_type names are config.json contracts: never rename them.
  static const std::vector<HfArchitecture> table = {
      {"gpt2", "gpt2", load_gpt2},
      {"clip_vision_model", "clip_vision", load_clip_vision},
      {"clip", "clip_vision", load_clip},
      {"whisper", "whisper_encoder", load_whisper},
      {"llama", "elara", load_llama},
      {"qwen2", "elara", load_qwen2},
      {"qwen2_moe", "elara", load_qwen2_moe},
  };
  return table;
}

std::vector<std::string> hf_model_types() {
  std::vector<std::string> names;
  for (const auto& arch : hf_architectures()) names.emplace_back(arch.model_type);
  return names;
}

std::unique_ptr<HfModel> load_hf_model(const std::string& dir) {
  const HfConfig cfg = HfConfig::load(dir);
  const std::string type = cfg.get_string("model_type");
  for (const auto& arch : hf_architectures()) {
    if (type == arch.model_type) return arch.load(dir);
  }
  throw UsageError(cfg.origin() + ": model_type '" + type + "' is not supported, expected one of: " +
                   joined(hf_model_types()));
}

}  // namespace elarin
