// What Hugging Face's feature extractors do before an encoder sees its input:
// CLIPImageProcessor (resize, centre crop, normalise) and WhisperFeatureExtractor
// (pad or trim to the model's window, Whisper log-mel). Leaves out: tokenizers.
//
//   #include "elarin/data/image_png.hpp"
//   #include "elarin/data/wav.hpp"
//   auto img = elarin::read_png("cat.png");  // (H, W, 3) uint8
//   auto config = elarin::ImageProcessorConfig::load("fixtures/clip-vision-tiny");
//   auto px = elarin::clip_pixel_values(img, config);  // (3, crop, crop) normalised
//   auto wav = elarin::read_wav("word.wav", 16000);
//   auto feats = elarin::whisper_input_features(wav.samples, 80, 3000);  // (80, 3000)
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>

namespace elarin {

struct ImageProcessorConfig {
  int64_t shortest_edge = 224;  // resize so the shorter side has this many pixels
  int64_t crop_size = 224;      // then centre-crop a square of this side
  std::array<double, 3> mean = {0.48145466, 0.4578275, 0.40821073};  // OpenAI CLIP's
  std::array<double, 3> std = {0.26862954, 0.26130258, 0.27577711};
  // `<dir>/preprocessor_config.json` when present, else CLIP defaults with both sizes set
  // to config.json's vision `image_size`.
  static ImageProcessorConfig load(const std::string& model_dir);
};

// (H, W, 3) uint8 image -> (3, crop, crop) float pixel values: bicubic resize (antialiased)
// of the shorter side, centre crop, /255, normalise per channel.
torch::Tensor clip_pixel_values(const torch::Tensor& image, const ImageProcessorConfig& config);

// (T) 16 kHz mono audio -> (n_mels, frames) Whisper log-mel: the audio is zero-padded or
// trimmed to frames * 160 samples first, as WhisperFeatureExtractor pads to 30 s.
torch::Tensor whisper_input_features(const torch::Tensor& audio, int64_t n_mels, int64_t frames);

}  // namespace elarin
