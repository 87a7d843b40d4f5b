// CLIP vision transformer + visual projection (Hugging Face layout and numerics):
// `ClipVisionTower`, and its `elarin encode` handle. Inference only: dropout is left out.
#include "elarin/models/hf/clip_vision.hpp"

#include "elarin/core/errors.hpp"
#include "elarin/models/hf/loader.hpp"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace elarin {
namespace {

torch::nn::LayerNorm layer_norm(const CLIPVisionConfig& cfg) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({cfg.hidden_size}).eps(cfg.layer_norm_eps));
}

}  // namespace

CLIPVisionConfig CLIPVisionConfig::from_hf(const HfConfig& cfg) {
  const std::string type = cfg.get_string("model_type", "clip_vision_model");
  if (type != "clip_vision_model" && type != "clip") {
    throw FormatError(cfg.origin() + ": model_type is '" + type +
                      "', expected 'clip_vision_model' or 'clip'");
  }
  CLIPVisionConfig c;
  c.projection_dim = cfg.get_int("projection_dim", c.projection_dim);
  const HfConfig vision = type == "clip" ? cfg.sub("vision_config") : cfg;
  c.hidden_size = vision.get_int("hidden_size", c.hidden_size);
  c.intermediate_size = vision.get_int("intermediate_size", c.intermediate_size);
  if (type != "clip") c.projection_dim = vision.get_int("projection_dim", c.projection_dim);
  c.num_hidden_layers = vision.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = vision.get_int("num_attention_heads", c.num_attention_heads);
  c.num_channels = vision.get_int("num_channels", c.num_channels);
  c.image_size = vision.get_int("image_size", c.image_size);
  c.patch_size = vision.get_int("patch_size", c.patch_size);
  c.hidden_act = vision.get_string("hidden_act", c.hidden_act);
  activation_from_config(vision, "hidden_act", c.hidden_act);  // validates the name
  c.layer_norm_eps = vision.get_double("layer_norm_eps", c.layer_norm_eps);
  try {
    c.validate();
  } catch (const UsageError& e) {
    throw FormatError(cfg.origin() + ": " + e.what());
  }
  return c;
}

void CLIPVisionConfig::validate() const {
  auto positive = [](const char* name, int64_t v) {
    if (v <= 0)
      throw UsageError(std::string("CLIP vision ") + name + ": got " + std::to_string(v) +
                       ", expected a positive integer");
  };
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("projection_dim", projection_dim);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_channels", num_channels);
  positive("image_size", image_size);
  positive("patch_size", patch_size);
  if (hidden_size % num_attention_heads != 0) {
    throw UsageError(
        "CLIP vision hidden_size: got " + std::to_string(hidden_size) +
        ", expected a multiple of num_attention_heads = " + std::to_string(num_attention_heads));
  }
  if (image_size % patch_size != 0) {
    throw UsageError("CLIP vision image_size: got " + std::to_string(image_size) +
                     ", expected a multiple of patch_size = " + std::to_string(patch_size));
  }
  activation(hidden_act);
}

CLIPVisionEmbeddingsImpl::CLIPVisionEmbeddingsImpl(const CLIPVisionConfig& cfg) {
  class_embedding = register_parameter("class_embedding", torch::randn({cfg.hidden_size}));
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(cfg.num_channels, cfg.hidden_size, cfg.patch_size)
                            .stride(cfg.patch_size)
                            .bias(false)));
  position_embedding = register_module(
      "position_embedding", torch::nn::Embedding(1 + cfg.patch_count(), cfg.hidden_size));
}

torch::Tensor CLIPVisionEmbeddingsImpl::forward(const torch::Tensor& pixel_values) {
  const int64_t B = pixel_values.size(0);
  torch::Tensor patches = patch_embedding(pixel_values);   // (B, C, H/p, W/p)
  patches = patches.flatten(2).transpose(1, 2);            // (B, P, C)
  torch::Tensor cls = class_embedding.expand({B, 1, -1});  // (B, 1, C)
  torch::Tensor x = torch::cat({cls, patches}, 1);         // (B, 1 + P, C)
  return x + position_embedding->weight.unsqueeze(0);      // (B, 1 + P, C)
}

CLIPMLPImpl::CLIPMLPImpl(const CLIPVisionConfig& cfg) : act_(activation(cfg.hidden_act)) {
  fc1 = register_module("fc1", torch::nn::Linear(cfg.hidden_size, cfg.intermediate_size));
  fc2 = register_module("fc2", torch::nn::Linear(cfg.intermediate_size, cfg.hidden_size));
}

torch::Tensor CLIPMLPImpl::forward(const torch::Tensor& x) { return fc2(act_(fc1(x))); }

CLIPEncoderLayerImpl::CLIPEncoderLayerImpl(const CLIPVisionConfig& cfg) {
  self_attn = register_module("self_attn", CLIPAttention(cfg.hidden_size, cfg.num_attention_heads));
  layer_norm1 = register_module("layer_norm1", layer_norm(cfg));
  mlp = register_module("mlp", CLIPMLP(cfg));
  layer_norm2 = register_module("layer_norm2", layer_norm(cfg));
}

torch::Tensor CLIPEncoderLayerImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x + self_attn(layer_norm1(x));  // (B, T, C)
  return h + mlp(layer_norm2(h));                   // (B, T, C)
}

CLIPEncoderImpl::CLIPEncoderImpl(const CLIPVisionConfig& cfg) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) layers->push_back(CLIPEncoderLayer(cfg));
}

CLIPVisionTransformerImpl::CLIPVisionTransformerImpl(const CLIPVisionConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  embeddings = register_module("embeddings", CLIPVisionEmbeddings(cfg));
  pre_layrnorm = register_module("pre_layrnorm", layer_norm(cfg));
  encoder = register_module("encoder", CLIPEncoder(cfg));
  post_layernorm = register_module("post_layernorm", layer_norm(cfg));
}

CLIPVisionOutput CLIPVisionTransformerImpl::forward(const torch::Tensor& pixel_values,
                                                    bool keep_hidden) {
  const int64_t S = cfg_.image_size;
  if (!pixel_values.defined() || pixel_values.dim() != 4 ||
      pixel_values.size(1) != cfg_.num_channels || pixel_values.size(2) != S ||
      pixel_values.size(3) != S || !c10::isFloatingType(pixel_values.scalar_type())) {
    std::ostringstream got;
    if (pixel_values.defined()) got << pixel_values.sizes() << " " << pixel_values.scalar_type();
    throw UsageError("CLIP pixel_values: got " +
                     (pixel_values.defined() ? got.str() : "undefined") + ", expected float (B, " +
                     std::to_string(cfg_.num_channels) + ", " + std::to_string(S) + ", " +
                     std::to_string(S) + ")");
  }
  const auto& weight = embeddings->patch_embedding->weight;
  torch::Tensor x = embeddings(pixel_values.to(weight.device(), weight.scalar_type()));
  x = pre_layrnorm(x);  // (B, 1 + P, C)
  CLIPVisionOutput out;
  for (const auto& layer : *encoder->layers) {
    if (keep_hidden) out.hidden.push_back(x);
    x = layer->as<CLIPEncoderLayerImpl>()->forward(x);
  }
  if (keep_hidden) out.hidden.push_back(x);
  out.last_hidden_state = x;                    // (B, 1 + P, C)
  out.pooled = post_layernorm(x.select(1, 0));  // (B, C)
  return out;
}

ClipVisionTowerImpl::ClipVisionTowerImpl(const CLIPVisionConfig& cfg) : cfg_(cfg) {
  vision_model = register_module("vision_model", CLIPVisionTransformer(cfg));
  visual_projection = register_module(
      "visual_projection",
      torch::nn::Linear(torch::nn::LinearOptions(cfg.hidden_size, cfg.projection_dim).bias(false)));
}

CLIPVisionOutput ClipVisionTowerImpl::forward(const torch::Tensor& pixel_values, bool keep_hidden) {
  CLIPVisionOutput out = vision_model->forward(pixel_values, keep_hidden);
  out.image_embeds = visual_projection(out.pooled);  // (B, projection_dim)
  return out;
}

ClipVisionTower load_clip_vision_tower(const std::string& dir) {
  const CLIPVisionConfig cfg = CLIPVisionConfig::from_hf(HfConfig::load(dir));
  const SafeTensors st = SafeTensors::open(hf_weights_path(dir));
  ClipVisionTower tower(cfg);
  // A full CLIP file also holds the text tower; older files carry position_ids buffers.
  load_state(*tower, st, "",
             {R"(text_model\..*)", R"(text_projection\.weight)", R"(logit_scale)",
              R"(vision_model\.embeddings\.position_ids)"});
  tower->eval();
  return tower;
}

namespace {

// `elarin encode` over the CLIP vision tower: pooled (image_embeds), hidden.
class ClipVisionHandle : public HfModelOf<ClipVisionTower> {
 public:
  ClipVisionHandle(const HfArchitecture& row, const std::string& dir)
      : HfModelOf(row, dir, load_clip_vision_tower(dir)) {}

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

 protected:
  bool pooled_takes_layer() const override { return false; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    CLIPVisionOutput out = model_->forward(input, /*keep_hidden=*/layer.has_value());
    if (output == "pooled") return out.image_embeds;            // (B, projection_dim)
    return layer ? out.hidden[*layer] : out.last_hidden_state;  // (B, 1 + P, C)
  }
};

}  // namespace

std::unique_ptr<HfModel> load_clip_vision_handle(const HfArchitecture& row,
                                                 const std::string& dir) {
  return std::make_unique<ClipVisionHandle>(row, dir);
}

}  // namespace elarin
