// CLIPImageProcessor and WhisperFeatureExtractor equivalents (see the header).
#include "elarin/models/hf/preprocess.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "elarin/core/errors.hpp"
#include "elarin/data/log_mel.hpp"

namespace elarin {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open '" + path + "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": invalid JSON: " + e.what());
  }
}

// HF writes sizes as an int or as {"shortest_edge": n} / {"height": h, "width": w}.
int64_t size_value(const nlohmann::json& j, const std::string& path, const char* key) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_object()) {
    for (const char* k : {"shortest_edge", "height", "width"}) {
      if (j.contains(k) && j[k].is_number_integer()) return j[k].get<int64_t>();
    }
  }
  throw FormatError(path + ": key '" + key + "': expected an integer or {\"shortest_edge\": n}");
}

}  // namespace

ImageProcessorConfig ImageProcessorConfig::load(const std::string& model_dir) {
  namespace fs = std::filesystem;
  ImageProcessorConfig c;
  const std::string config_path = (fs::path(model_dir) / "config.json").string();
  if (fs::exists(config_path)) {
    auto cfg = read_json(config_path);
    const auto& vision = cfg.contains("vision_config") ? cfg["vision_config"] : cfg;
    if (vision.contains("image_size") && vision["image_size"].is_number_integer()) {
      c.shortest_edge = c.crop_size = vision["image_size"].get<int64_t>();
    }
  }
  const std::string pre_path = (fs::path(model_dir) / "preprocessor_config.json").string();
  if (fs::exists(pre_path)) {
    auto pre = read_json(pre_path);
    if (pre.contains("size")) c.shortest_edge = size_value(pre["size"], pre_path, "size");
    if (pre.contains("crop_size"))
      c.crop_size = size_value(pre["crop_size"], pre_path, "crop_size");
    for (auto [key, dst] : {std::pair{"image_mean", &c.mean}, std::pair{"image_std", &c.std}}) {
      if (!pre.contains(key)) continue;
      const auto& v = pre[key];
      if (!v.is_array() || v.size() != 3) {
        throw FormatError(pre_path + ": key '" + key + "': expected a list of 3 numbers");
      }
      for (size_t i = 0; i < 3; ++i) (*dst)[i] = v[i].get<double>();
    }
  }
  if (c.shortest_edge <= 0 || c.crop_size <= 0 || c.crop_size > c.shortest_edge) {
    throw FormatError(model_dir + ": image sizes must satisfy 0 < crop_size (" +
                      std::to_string(c.crop_size) + ") <= shortest_edge (" +
                      std::to_string(c.shortest_edge) + ")");
  }
  return c;
}

torch::Tensor clip_pixel_values(const torch::Tensor& image, const ImageProcessorConfig& config) {
  if (image.dim() != 3 || image.size(2) != 3 || image.scalar_type() != torch::kByte) {
    throw UsageError("image: expected (H, W, 3) uint8 RGB, got " +
                     std::string(c10::toString(image.scalar_type())) + " " +
                     c10::str(image.sizes()));
  }
  const int64_t h = image.size(0), w = image.size(1);
  const double scale = double(config.shortest_edge) / double(std::min(h, w));
  const int64_t nh = h <= w ? config.shortest_edge : int64_t(std::lround(h * scale));
  const int64_t nw = w < h ? config.shortest_edge : int64_t(std::lround(w * scale));
  namespace F = torch::nn::functional;
  auto x = image.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);  // (1, 3, H, W) 0..255
  x = F::interpolate(x, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{nh, nw})
                            .mode(torch::kBicubic)
                            .align_corners(false)
                            .antialias(true));
  // PIL rounds and clips to 8 bits after resizing; do the same so pixels match HF's.
  x = x.round().clamp(0, 255);
  const int64_t top = (nh - config.crop_size) / 2, left = (nw - config.crop_size) / 2;
  x = x.slice(2, top, top + config.crop_size).slice(3, left, left + config.crop_size);
  auto mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}).view({1, 3, 1, 1});
  auto std = torch::tensor({config.std[0], config.std[1], config.std[2]}).view({1, 3, 1, 1});
  x = (x / 255.0 - mean.to(torch::kFloat32)) / std.to(torch::kFloat32);
  return x.squeeze(0).contiguous();  // (3, crop, crop)
}

torch::Tensor whisper_input_features(const torch::Tensor& audio, int64_t n_mels, int64_t frames) {
  if (audio.dim() != 1) {
    throw UsageError("audio: expected mono samples (T), got shape " + c10::str(audio.sizes()));
  }
  if (frames <= 0) throw UsageError("whisper features: frames must be positive");
  const int64_t samples = frames * kWhisperHop;
  auto x = audio.to(torch::kFloat32);
  if (x.size(0) >= samples) {
    x = x.slice(0, 0, samples);
  } else {
    x = torch::constant_pad_nd(x, {0, samples - x.size(0)}, 0.0);
  }
  return log_mel_spectrogram(x, n_mels);  // (n_mels, frames)
}

}  // namespace elarin
