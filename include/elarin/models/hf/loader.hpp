// Loading Hugging Face checkpoints (config.json + model.safetensors) into elarin modules, and
// the model_type registry behind `elarin encode`. Leaves out: sharded checkpoints
// (model.safetensors.index.json), pytorch_model.bin, tokenizers and feature extractors.
//
//   auto model = elarin::load_hf_model("fixtures/gpt2-tiny");  // reads model_type from config
//   model->outputs();                                          // {"pooled", "hidden", "logits"}
//   torch::Tensor ids = torch::randint(100, {1, 8});
//   torch::Tensor e = model->encode(ids, {"pooled"});      // (B, C)
//   torch::Tensor h = model->encode(ids, {"hidden", 2});   // hidden state of layer 2
//
//   // lower level: copy a file's tensors into any module whose names match the file
//   torch::nn::Linear encoder(64, 64);
//   elarin::load_state(*encoder, elarin::SafeTensors::open("model.safetensors"), "encoder.");
#pragma once

#include "elarin/core/safetensors.hpp"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace elarin {

// Copies every parameter and buffer of `module` from `st`, tensor `prefix + name`, under
// torch::NoGradGuard. Shapes must match exactly; floating tensors of any width (F16, BF16,
// F32, F64) are converted to the module tensor's dtype and device; other dtypes must match.
// Only file tensors whose names start with `prefix` belong to the module; among those, a name
// fully matching one of the `ignore` regexes may stay unused (e.g. R"(h\.\d+\.attn\.bias)").
// Any other unused one, or any missing one, is a FormatError listing the missing and the
// unexpected names. Validate, then commit: on error the module is left unchanged.
void load_state(torch::nn::Module& module, const SafeTensors& st, const std::string& prefix = "",
                const std::vector<std::string>& ignore = {});

// `<dir>/model.safetensors`; Error naming the directory (and why) when it is not there.
std::string hf_weights_path(const std::string& dir);

// What `HfModel::encode` returns.
struct HfEncodeRequest {
  HfEncodeRequest() = default;
  // Implicit, so that `encode(x, {"hidden", 2})` reads like the command line.
  HfEncodeRequest(std::string output_, std::optional<int64_t> layer_ = std::nullopt,
                  torch::Tensor mask_ = {})
      : output(std::move(output_)), layer(layer_), mask(std::move(mask_)) {}

  // "pooled" (B, D): GPT-2: mean over tokens of the hidden state (default the last one, after
  //   ln_f); CLIP: image_embeds (visual_projection of the post-layernormed CLS token);
  //   Whisper: mean over frames of the hidden state (default the last, after layer_norm).
  // "hidden" (B, T, C): hidden state of layer `layer` (default the last = last_hidden_state).
  // "logits" (B, T, V): GPT-2 only.
  std::string output = "pooled";
  // Hidden-state index as in HF `output_hidden_states`: 0 = embeddings, i = output of block
  // i-1, layer_count() = the final one (GPT-2 and Whisper apply their final norm there; CLIP's
  // last is the encoder output without post_layernorm). Negative counts from the end
  // (-1 = last). Applies to "hidden", and to "pooled" for GPT-2 and Whisper; CLIP "pooled" and
  // "logits" take no layer (UsageError).
  std::optional<int64_t> layer;
  // GPT-2 only, optional (B, T), 1 for real tokens: "pooled" averages only those (right-padded
  // batches; GPT-2 is causal, so padding never changes the real tokens' states).
  torch::Tensor mask;
  // Runs with autograd (still in eval mode), so that adapters on the weights can learn
  // (nn/lora.hpp); by default encode runs under NoGradGuard.
  bool grad = false;
};

// A loaded pretrained encoder. Runs in eval mode under NoGradGuard (unless the request asks
// for grad); inputs are moved to the model's device. Bad inputs (shape, dtype, token ids out of range) are UsageErrors.
class HfModel {
 public:
  virtual ~HfModel() = default;

  const std::string& model_type() const { return model_type_; }  // config's, e.g. "clip"
  const std::string& architecture() const { return architecture_; }  // registry's
  const std::string& dir() const { return dir_; }

  // HF name of the input: "input_ids" (int64 (B, T)), "pixel_values" (float (B, 3, H, W)) or
  // "input_features" (float log-mel (B, n_mels, frames)).
  virtual std::string input_name() const = 0;
  // Expected input shape, -1 where free (batch, sequence length).
  virtual std::vector<int64_t> input_shape() const = 0;
  // Subset of {"pooled", "hidden", "logits"}, in that order.
  virtual std::vector<std::string> outputs() const = 0;
  // Hidden states are numbered 0..layer_count().
  virtual int64_t layer_count() const = 0;
  // Last dimension of `output` ("pooled", "hidden" or "logits").
  virtual int64_t output_size(const std::string& output) const = 0;

  // Validates the request (unknown output or bad layer: UsageError listing the valid ones).
  torch::Tensor encode(const torch::Tensor& input, const HfEncodeRequest& request = {});
  // Moves the weights; later inputs go to that device.
  virtual void to(torch::Device device) = 0;
  virtual torch::nn::Module& module() = 0;

 protected:
  HfModel(std::string model_type, std::string architecture, std::string dir);
  // `layer` is already resolved to 0..layer_count() when given.
  virtual torch::Tensor run(const torch::Tensor& input, const std::string& output,
                            std::optional<int64_t> layer, const torch::Tensor& mask) = 0;
  virtual bool pooled_takes_layer() const = 0;

 private:
  std::string model_type_;
  std::string architecture_;
  std::string dir_;
};

// One row of the registry: a config.json `model_type` and the architecture it loads.
struct HfArchitecture {
  const char* name;          // config.json model_type: "gpt2", "clip_vision_model", "clip", ...
  const char* architecture;  // "gpt2" (LM head), "clip_vision" (ClipVisionTower), "elara", ...
  // Loads `dir` as this row's model_type and architecture.
  std::unique_ptr<HfModel> (*load)(const HfArchitecture& row, const std::string& dir);
};

// The shared part of an architecture's HfModel: owns the loaded module, moves it, exposes it.
// An architecture is its model file (module, loader, an HfModelOf subclass and a factory such
// as load_gpt2_handle in gpt2.cpp) plus one row of hf_architectures().
template <typename ModuleHolder>
class HfModelOf : public HfModel {
 public:
  void to(torch::Device device) override { model_->to(device); }
  torch::nn::Module& module() override { return *model_; }

 protected:
  HfModelOf(const HfArchitecture& row, std::string dir, ModuleHolder model)
      : HfModel(row.name, row.architecture, std::move(dir)), model_(std::move(model)) {}

  ModuleHolder model_;
};

// The registry, one row per model_type (the table in loader.cpp).
const std::vector<HfArchitecture>& hf_architectures();
std::vector<std::string> hf_model_types();

// Reads `<dir>/config.json`, picks the architecture by `model_type` (unknown: UsageError
// listing the valid ones; a full "clip" checkpoint loads its vision tower and projection, a
// "whisper" one its encoder), loads and validates `<dir>/model.safetensors`.
std::unique_ptr<HfModel> load_hf_model(const std::string& dir);

}  // namespace elarin
