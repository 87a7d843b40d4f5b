// `elarin encode`: runs a pretrained Hugging Face encoder (GPT-2, CLIP vision, Whisper) on
// token ids, text, a PNG image, a WAV file or a safetensors input, and prints the output.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/data/hf_tokenizer.hpp"
#include "elarin/data/image_png.hpp"
#include "elarin/data/wav.hpp"
#include "elarin/models/hf/loader.hpp"
#include "elarin/models/hf/preprocess.hpp"
#include "parse_ids.hpp"

namespace elarin::cli {
namespace {

struct EncodeOptions {
  std::string model;
  std::string text;
  std::string ids;
  std::string image;
  std::string audio;
  std::string features;
  std::string output = "pooled";
  std::optional<int64_t> layer;
  bool json = false;
};

// The input tensor from a safetensors file: the one named like the model's input, or the
// only one. A missing batch dimension is added.
torch::Tensor read_input_file(const std::string& path, const HfModel& model) {
  auto st = SafeTensors::open(path);
  const std::string name = model.input_name();
  torch::Tensor t;
  if (st.contains(name)) {
    t = st.tensor(name);
  } else if (st.names().size() == 1) {
    t = st.tensor(st.names()[0]);
  } else {
    std::string names;
    for (const auto& n : st.names()) names += (names.empty() ? "" : ", ") + n;
    throw UsageError("--features " + path + ": no tensor named '" + name + "' (has: " + names +
                     ")");
  }
  if (t.dim() + 1 == int64_t(model.input_shape().size())) t = t.unsqueeze(0);
  return name == "input_ids" ? t.to(torch::kLong) : t.to(torch::kFloat32);
}

torch::Tensor make_input(const EncodeOptions& o, const HfModel& model) {
  const std::string kind = model.input_name();
  auto need = [&](const char* flag, const char* wanted) {
    if (kind != wanted) {
      throw UsageError(std::string(flag) + ": model '" + o.model + "' (" + model.architecture() +
                       ") takes " + kind + ", not " + wanted);
    }
  };
  if (!o.features.empty()) return read_input_file(o.features, model);
  if (!o.ids.empty()) {
    need("--ids", "input_ids");
    return parse_ids(o.ids);
  }
  if (!o.text.empty()) {
    need("--text", "input_ids");
    auto tok = load_hf_tokenizer(o.model);
    auto ids = tok->encode(o.text);
    if (ids.empty()) throw UsageError("--text: the text encodes to no tokens");
    return torch::tensor(ids, torch::kLong).unsqueeze(0);
  }
  if (!o.image.empty()) {
    need("--image", "pixel_values");
    auto pixels = clip_pixel_values(read_png(o.image), ImageProcessorConfig::load(o.model));
    return pixels.unsqueeze(0);  // (1, 3, S, S)
  }
  if (!o.audio.empty()) {
    need("--audio", "input_features");
    auto wav = read_wav(o.audio, 16000);
    auto shape = model.input_shape();  // (B, n_mels, frames)
    return whisper_input_features(wav.samples, shape[1], shape[2]).unsqueeze(0);
  }
  throw UsageError("give one input: --ids, --text, --image, --audio or --features");
}

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream os;
  os << "[";
  for (int64_t i = 0; i < t.dim(); ++i) os << (i ? ", " : "") << t.size(i);
  return os.str() + "]";
}

}  // namespace

CommandRun setup_encode(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<EncodeOptions>();
  app.add_option("--model", o->model,
                 "Hugging Face model directory (config.json + model.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* text = app.add_option("--text", o->text, "text (needs the model's tokenizer files)");
  auto* ids = app.add_option("--ids", o->ids, "token ids: 3,17,5 (rows separated by ';')");
  auto* image = app.add_option("--image", o->image, "PNG image (CLIP)")->check(CLI::ExistingFile);
  auto* audio = app.add_option("--audio", o->audio, "16 kHz mono 16-bit WAV (Whisper)")
                    ->check(CLI::ExistingFile);
  auto* features = app.add_option("--features", o->features,
                                  "safetensors file holding the model input "
                                  "(input_ids / pixel_values / input_features)")
                       ->check(CLI::ExistingFile);
  std::vector<CLI::Option*> inputs = {text, ids, image, audio, features};
  for (auto* a : inputs) {
    for (auto* b : inputs) {
      if (a != b) a->excludes(b);
    }
  }
  app.add_option("--output", o->output, "pooled | hidden | logits")
      ->check(CLI::IsMember({"pooled", "hidden", "logits"}));
  app.add_option("--layer", o->layer,
                 "hidden state index: 0 = embeddings, N = after block N, -1 = last");
  app.add_flag("--json", o->json, "end stdout with {\"shape\": [...], \"data\": [...]}");
  return [o]() {
    auto model = load_hf_model(o->model);
    torch::Tensor input = make_input(*o, *model);
    HfEncodeRequest request;
    request.output = o->output;
    request.layer = o->layer;
    torch::Tensor out =
        model->encode(input, request).to(torch::kCPU).to(torch::kFloat32).contiguous();
    std::cout << model->architecture() << " " << o->output
              << (o->layer ? " layer " + std::to_string(*o->layer) : std::string()) << " shape "
              << shape_text(out) << "\n";
    if (!o->json) {
      // Readable summary; --json carries the full data.
      auto flat = out.reshape({-1});
      const int64_t show = std::min<int64_t>(flat.size(0), 8);
      std::cout << "first values:";
      for (int64_t i = 0; i < show; ++i) std::cout << " " << flat[i].item<float>();
      std::cout << (flat.size(0) > show ? " ..." : "") << "\n";
      std::cout << "mean " << out.mean().item<double>() << "  std "
                << (out.numel() > 1 ? out.std().item<double>() : 0.0) << "\n";
      return 0;
    }
    const float* p = out.data_ptr<float>();
    nlohmann::json j;
    j["shape"] = out.sizes().vec();
    j["data"] = std::vector<float>(p, p + out.numel());
    std::cout << j.dump() << "\n";
    return 0;
  };
}

}  // namespace elarin::cli
