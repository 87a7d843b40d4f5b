// Whisper audio encoder (Hugging Face layout and numerics): `WhisperEncoder`, and its `elarin
// encode` handle. Inference only: dropout, layerdrop and the fp16 clamp are left out.
#include "elarin/models/hf/whisper_encoder.hpp"

#include "elarin/core/errors.hpp"
#include "elarin/models/hf/loader.hpp"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace elarin {

WhisperEncoderConfig WhisperEncoderConfig::from_hf(const HfConfig& cfg) {
  const std::string type = cfg.get_string("model_type", "whisper");
  if (type != "whisper") {
    throw FormatError(cfg.origin() + ": model_type is '" + type + "', expected 'whisper'");
  }
  WhisperEncoderConfig c;
  c.num_mel_bins = cfg.get_int("num_mel_bins", c.num_mel_bins);
  c.d_model = cfg.get_int("d_model", c.d_model);
  c.encoder_layers = cfg.get_int("encoder_layers", c.encoder_layers);
  c.encoder_attention_heads = cfg.get_int("encoder_attention_heads", c.encoder_attention_heads);
  c.encoder_ffn_dim = cfg.get_int("encoder_ffn_dim", c.encoder_ffn_dim);
  c.max_source_positions = cfg.get_int("max_source_positions", c.max_source_positions);
  c.activation_function = cfg.get_string("activation_function", c.activation_function);
  activation_from_config(cfg, "activation_function", c.activation_function);  // validates the name
  try {
    c.validate();
  } catch (const UsageError& e) {
    throw FormatError(cfg.origin() + ": " + e.what());
  }
  return c;
}

void WhisperEncoderConfig::validate() const {
  auto positive = [](const char* name, int64_t v) {
    if (v <= 0)
      throw UsageError(std::string("Whisper ") + name + ": got " + std::to_string(v) +
                       ", expected a positive integer");
  };
  positive("num_mel_bins", num_mel_bins);
  positive("d_model", d_model);
  positive("encoder_layers", encoder_layers);
  positive("encoder_attention_heads", encoder_attention_heads);
  positive("encoder_ffn_dim", encoder_ffn_dim);
  positive("max_source_positions", max_source_positions);
  if (d_model % encoder_attention_heads != 0) {
    throw UsageError("Whisper d_model: got " + std::to_string(d_model) +
                     ", expected a multiple of encoder_attention_heads = " +
                     std::to_string(encoder_attention_heads));
  }
  activation(activation_function);
}

WhisperEncoderLayerImpl::WhisperEncoderLayerImpl(const WhisperEncoderConfig& cfg)
    : act_(activation(cfg.activation_function)) {
  self_attn = register_module(
      "self_attn", WhisperAttention(cfg.d_model, cfg.encoder_attention_heads, /*key_bias=*/false));
  self_attn_layer_norm = register_module("self_attn_layer_norm",
                                         torch::nn::LayerNorm(std::vector<int64_t>{cfg.d_model}));
  fc1 = register_module("fc1", torch::nn::Linear(cfg.d_model, cfg.encoder_ffn_dim));
  fc2 = register_module("fc2", torch::nn::Linear(cfg.encoder_ffn_dim, cfg.d_model));
  final_layer_norm =
      register_module("final_layer_norm", torch::nn::LayerNorm(std::vector<int64_t>{cfg.d_model}));
}

torch::Tensor WhisperEncoderLayerImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x + self_attn(self_attn_layer_norm(x));  // (B, T, C)
  return h + fc2(act_(fc1(final_layer_norm(h))));            // (B, T, C)
}

WhisperEncoderImpl::WhisperEncoderImpl(const WhisperEncoderConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  conv1 = register_module(
      "conv1",
      torch::nn::Conv1d(torch::nn::Conv1dOptions(cfg.num_mel_bins, cfg.d_model, 3).padding(1)));
  conv2 = register_module(
      "conv2", torch::nn::Conv1d(
                   torch::nn::Conv1dOptions(cfg.d_model, cfg.d_model, 3).stride(2).padding(1)));
  embed_positions = register_module("embed_positions",
                                    torch::nn::Embedding(cfg.max_source_positions, cfg.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.encoder_layers; ++i) layers->push_back(WhisperEncoderLayer(cfg));
  layer_norm =
      register_module("layer_norm", torch::nn::LayerNorm(std::vector<int64_t>{cfg.d_model}));
}

WhisperEncoderOutput WhisperEncoderImpl::forward(const torch::Tensor& input_features,
                                                 bool keep_hidden) {
  const int64_t max_frames = 2 * cfg_.max_source_positions;
  if (!input_features.defined() || input_features.dim() != 3 ||
      input_features.size(1) != cfg_.num_mel_bins || input_features.size(2) < 1 ||
      input_features.size(2) > max_frames || !c10::isFloatingType(input_features.scalar_type())) {
    std::ostringstream got;
    if (input_features.defined())
      got << input_features.sizes() << " " << input_features.scalar_type();
    throw UsageError("Whisper input_features: got " +
                     (input_features.defined() ? got.str() : std::string("undefined")) +
                     ", expected float (B, " + std::to_string(cfg_.num_mel_bins) +
                     ", frames) with 1 <= frames <= " + std::to_string(max_frames));
  }
  const auto& weight = conv1->weight;
  torch::Tensor x = input_features.to(weight.device(), weight.scalar_type());  // (B, mel, F)
  // The convs use erf gelu whatever activation_function says (as HF does).
  x = torch::gelu(conv1(x));  // (B, C, F)
  // Transposed before the gelu, not after: LibTorch 1.13's CPU conv1d backward misreads the
  // transposed-stride gradient gelu's backward then hands it and returns garbage (1e20 and
  // more; tests/regions/test_cochlea.cpp trains through here). The values are the same.
  x = torch::gelu(conv2(x).transpose(1, 2).contiguous());  // (B, T', C), T' = ceil(F / 2)
  x = x + embed_positions->weight.slice(0, 0, x.size(1));  // (B, T', C)
  WhisperEncoderOutput out;
  for (const auto& layer : *layers) {
    if (keep_hidden) out.hidden.push_back(x);
    x = layer->as<WhisperEncoderLayerImpl>()->forward(x);
  }
  x = layer_norm(x);
  if (keep_hidden) out.hidden.push_back(x);
  out.last = x;
  return out;
}

WhisperEncoder load_whisper_encoder(const std::string& dir) {
  const WhisperEncoderConfig cfg = WhisperEncoderConfig::from_hf(HfConfig::load(dir));
  const SafeTensors st = SafeTensors::open(hf_weights_path(dir));
  // WhisperForConditionalGeneration files prefix everything with "model.".
  const std::string prefix =
      st.contains("model.encoder.conv1.weight") ? "model.encoder." : "encoder.";
  WhisperEncoder cochlea(cfg);
  load_state(*cochlea, st, prefix);
  cochlea->eval();
  return cochlea;
}

namespace {

// `elarin encode` over the Whisper encoder: pooled (mean over frames), hidden.
class WhisperEncoderHandle : public HfModelOf<WhisperEncoder> {
 public:
  WhisperEncoderHandle(const HfArchitecture& row, const std::string& dir)
      : HfModelOf(row, dir, load_whisper_encoder(dir)) {}

  std::string input_name() const override { return "input_features"; }
  std::vector<int64_t> input_shape() const override {
    const auto& c = model_->config();
    return {-1, c.num_mel_bins, 2 * c.max_source_positions};
  }
  std::vector<std::string> outputs() const override { return {"pooled", "hidden"}; }
  int64_t layer_count() const override { return model_->config().encoder_layers; }
  int64_t output_size(const std::string& output) const override { return model_->config().d_model; }

 protected:
  bool pooled_takes_layer() const override { return true; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    WhisperEncoderOutput out = model_->forward(input, /*keep_hidden=*/layer.has_value());
    const torch::Tensor& hidden = layer ? out.hidden[*layer] : out.last;  // (B, T', C)
    return output == "hidden" ? hidden : hidden.mean(1);                  // (B, C)
  }
};

}  // namespace

std::unique_ptr<HfModel> load_whisper_encoder_handle(const HfArchitecture& row,
                                                     const std::string& dir) {
  return std::make_unique<WhisperEncoderHandle>(row, dir);
}

}  // namespace elarin
