// Whisper's audio encoder as in Hugging Face's WhisperEncoder (`WhisperEncoder`): the sound
// encoder over log-mel features. Leaves out: the decoder, the feature extractor (log-mel),
// attention masks, SpecAugment, dropout.
//
//   auto cochlea = elarin::load_whisper_encoder("fixtures/whisper-encoder-tiny");
//   const auto& c = cochlea->config();
//   auto mel = torch::randn({1, c.num_mel_bins, 2 * c.max_source_positions});  // (B, mels, frames)
//   auto out = cochlea->forward(mel);  // out.last (B, frames / 2, C)
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

// Encoder part of a Whisper config; defaults are Hugging Face's WhisperConfig defaults.
struct WhisperEncoderConfig {
  int64_t num_mel_bins = 80;              // input channels
  int64_t d_model = 384;                  // C
  int64_t encoder_layers = 4;
  int64_t encoder_attention_heads = 6;    // d_model % heads == 0
  int64_t encoder_ffn_dim = 1536;         // MLP width
  int64_t max_source_positions = 1500;    // output frames; input frames = 2x
  std::string activation_function = "gelu";  // of the layers' MLP; the convs always use erf gelu

  static WhisperEncoderConfig from_hf(const HfConfig& cfg);
  void validate() const;  // UsageError naming the bad field
};

// Whisper's encoder attention: bidirectional; k_proj has no bias.
using WhisperAttention = nn::SelfAttention;

class WhisperEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit WhisperEncoderLayerImpl(const WhisperEncoderConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C), pre-LN residual

  WhisperAttention self_attn{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};

 private:
  Activation act_;
};
TORCH_MODULE(WhisperEncoderLayer);

struct WhisperEncoderOutput {
  torch::Tensor last;                 // (B, T', C) after layer_norm: encoder_last_hidden_state
  std::vector<torch::Tensor> hidden;  // when asked: hidden_0 (conv + positions) .. hidden_L
};

// HF's WhisperEncoder: names map 1:1 to the file under "encoder." (see load_whisper_encoder).
class WhisperEncoderImpl : public torch::nn::Module {
 public:
  explicit WhisperEncoderImpl(const WhisperEncoderConfig& cfg);
  // input_features (B, num_mel_bins, frames), frames <= 2 * max_source_positions; T' =
  // ceil(frames / 2). HF requires exactly 2 * max_source_positions frames (30 s, padded by the
  // feature extractor); shorter inputs use the first T' positions and so differ from HF.
  WhisperEncoderOutput forward(const torch::Tensor& input_features, bool keep_hidden = false);

  const WhisperEncoderConfig& config() const { return cfg_; }

  torch::nn::Conv1d conv1{nullptr};          // mel -> C, k3 p1
  torch::nn::Conv1d conv2{nullptr};          // C -> C, k3 s2 p1
  torch::nn::Embedding embed_positions{nullptr};  // (max_source_positions, C), sinusoidal, from the file
  torch::nn::ModuleList layers{nullptr};     // WhisperEncoderLayer x encoder_layers
  torch::nn::LayerNorm layer_norm{nullptr};

 private:
  WhisperEncoderConfig cfg_;
};
TORCH_MODULE(WhisperEncoder);

// From a checkpoint dir of a "whisper" model: reads only the "encoder." tensors (all required,
// none unexpected); the decoder's are ignored. Eval mode, CPU.
WhisperEncoder load_whisper_encoder(const std::string& dir);

// `elarin encode`'s Whisper encoder (a row of hf_architectures()): pooled and hidden.
std::unique_ptr<HfModel> load_whisper_encoder_handle(const HfArchitecture& row,
                                                     const std::string& dir);

}  // namespace elarin
