// CLIP vision tower with its projection, as Hugging Face's CLIPVisionModelWithProjection:
// `ClipVisionTower` (the retina region is another thing, a small CNN). Leaves out: the text
// tower, position-embedding interpolation for other image sizes, dropout.
//
//   auto tower = elarin::load_clip_vision_tower("fixtures/clip-vision-tiny");  // or a full clip
//   const auto& c = tower->config();
//   torch::Tensor pixel_values = torch::randn({1, c.num_channels, c.image_size, c.image_size});
//   auto out = tower->forward(pixel_values);  // normalized (B, 3, H, W)
//   out.image_embeds;                         // (B, projection_dim)
#pragma once

#include "elarin/models/hf/hf_config.hpp"
#include "elarin/nn/self_attention.hpp"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace elarin {

class HfModel;
struct HfArchitecture;  // loader.hpp

// Vision part of a CLIP config; defaults are Hugging Face's CLIPVisionConfig defaults.
struct CLIPVisionConfig {
  int64_t hidden_size = 768;             // C
  int64_t intermediate_size = 3072;      // MLP width
  int64_t projection_dim = 512;          // image_embeds width
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;      // hidden_size % heads == 0
  int64_t num_channels = 3;
  int64_t image_size = 224;              // H = W, a multiple of patch_size
  int64_t patch_size = 32;
  std::string hidden_act = "quick_gelu";  // a name of activation_names()
  double layer_norm_eps = 1e-5;

  // Reads a clip_vision_model config, or the vision_config (+ top-level projection_dim) of a
  // full "clip" one.
  static CLIPVisionConfig from_hf(const HfConfig& cfg);
  int64_t patch_count() const { return (image_size / patch_size) * (image_size / patch_size); }
  void validate() const;  // UsageError naming the bad field
};

class CLIPVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit CLIPVisionEmbeddingsImpl(const CLIPVisionConfig& cfg);
  torch::Tensor forward(const torch::Tensor& pixel_values);  // (B, 3, H, W) -> (B, 1 + P, C)

  torch::Tensor class_embedding;                   // (C)
  torch::nn::Conv2d patch_embedding{nullptr};      // stride = kernel = patch_size, no bias
  torch::nn::Embedding position_embedding{nullptr};  // (1 + P, C)
};
TORCH_MODULE(CLIPVisionEmbeddings);

// CLIP's attention: bidirectional, every projection with a bias.
using CLIPAttention = nn::SelfAttention;

class CLIPMLPImpl : public torch::nn::Module {
 public:
  explicit CLIPMLPImpl(const CLIPVisionConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C)

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  Activation act_;
};
TORCH_MODULE(CLIPMLP);

class CLIPEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit CLIPEncoderLayerImpl(const CLIPVisionConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C), pre-LN residual

  CLIPAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr};
  CLIPMLP mlp{nullptr};
  torch::nn::LayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(CLIPEncoderLayer);

class CLIPEncoderImpl : public torch::nn::Module {
 public:
  explicit CLIPEncoderImpl(const CLIPVisionConfig& cfg);
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(CLIPEncoder);

struct CLIPVisionOutput {
  torch::Tensor last_hidden_state;    // (B, 1 + P, C): encoder output, no post_layernorm
  torch::Tensor pooled;               // (B, C): post_layernorm(last_hidden_state[:, 0])
  torch::Tensor image_embeds;         // (B, projection_dim): visual_projection(pooled)
  std::vector<torch::Tensor> hidden;  // when asked: hidden_0 (after pre_layrnorm) .. hidden_L
};

// HF's CLIPVisionTransformer ("vision_model." in the file).
class CLIPVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit CLIPVisionTransformerImpl(const CLIPVisionConfig& cfg);
  // Fills last_hidden_state, pooled and (if keep_hidden) hidden.
  CLIPVisionOutput forward(const torch::Tensor& pixel_values, bool keep_hidden = false);

  CLIPVisionEmbeddings embeddings{nullptr};
  torch::nn::LayerNorm pre_layrnorm{nullptr};  // (sic): HF's name, a file key
  CLIPEncoder encoder{nullptr};
  torch::nn::LayerNorm post_layernorm{nullptr};

 private:
  CLIPVisionConfig cfg_;
};
TORCH_MODULE(CLIPVisionTransformer);

// CLIPVisionModelWithProjection: names map 1:1 to the file ("vision_model.*",
// "visual_projection.weight").
class ClipVisionTowerImpl : public torch::nn::Module {
 public:
  explicit ClipVisionTowerImpl(const CLIPVisionConfig& cfg);
  // pixel_values (B, num_channels, image_size, image_size), already normalized as CLIP's
  // image processor does; other shapes are a UsageError.
  CLIPVisionOutput forward(const torch::Tensor& pixel_values, bool keep_hidden = false);

  const CLIPVisionConfig& config() const { return cfg_; }

  CLIPVisionTransformer vision_model{nullptr};
  torch::nn::Linear visual_projection{nullptr};  // C -> projection_dim, no bias

 private:
  CLIPVisionConfig cfg_;
};
TORCH_MODULE(ClipVisionTower);

// From a checkpoint dir: a clip_vision_model (CLIPVisionModelWithProjection) or full clip one
// (the text tower's tensors are skipped). Eval mode, CPU.
ClipVisionTower load_clip_vision_tower(const std::string& dir);

// `elarin encode`'s CLIP vision tower (a row of hf_architectures()): pooled and hidden.
std::unique_ptr<HfModel> load_clip_vision_handle(const HfArchitecture& row, const std::string& dir);

}  // namespace elarin
