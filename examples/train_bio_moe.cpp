// Trains a small Bio-MoE classifier on synthetic 28x28 shapes for 3 epochs; prints accuracy.
// Phasor map, spiking attention and a mixture of experts that grows from 2 to 4 experts.
//
//   build/examples/train_bio_moe [RUN_DIR]   (metrics.jsonl and model.safetensors go there)
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <string>

#include <unistd.h>

#include "elarin/core/config.hpp"
#include "elarin/data/image_dataset.hpp"
#include "elarin/models/bio_moe/trainer.hpp"

namespace {

// Four classes of noisy strokes at random places and sizes: a horizontal bar, a
// vertical bar, a diagonal and a box outline.
elarin::ImageDataset make_shapes(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  elarin::ImageDataset d;
  d.class_names = {"horizontal", "vertical", "diagonal", "box"};
  d.images = torch::zeros({n, 1, 28, 28});
  d.labels = torch::zeros({n}, torch::kLong);
  auto img = d.images.accessor<float, 4>();
  auto lab = d.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const int label = pick(0, 3), len = pick(10, 16);
    const int r = pick(2, 25 - len), c = pick(2, 25 - len), w = pick(1, 2);
    auto dot = [&](int y, int x) { img[i][0][std::min(y, 27)][std::min(x, 27)] = 1.0f; };
    for (int k = 0; k < len; ++k)
      for (int t = 0; t < w; ++t) {
        if (label == 0) dot(r + t, c + k);
        if (label == 1) dot(r + k, c + t);
        if (label == 2) dot(r + k, c + k + t);
        if (label == 3) {
          dot(r + t, c + k);  // top and bottom
          dot(r + len - 1 - t, c + k);
          dot(r + k, c + t);  // left and right
          dot(r + k, c + len - 1 - t);
        }
      }
    lab[i] = label;
  }
  const auto gen = at::detail::createCPUGenerator(seed);
  d.images = (d.images + 0.15 * torch::rand(d.images.sizes(), gen)).clamp(0, 1);
  return d;
}

// The `train moe` sections (moe.*, moe.model.*, moe.growth.*, moe.train.*, ...), made small.
const char* kSettingsYaml = R"(
moe:
  expert_count: 4        # slots; growth activates them
  active_experts: 2
  expert_hidden: 64
  model: {width: 64, oscillators: 8, classes: 4, dropout: 0.1}
  growth: {schedule_epochs: [3], schedule_counts: [4]}
  train: {epochs: 3, batch_size: 64, lr: 0.003, shift: 1}
  continual: {tasks: 2}  # `train moe --data split-*` only; 4 classes make 2 pairs
)";

}  // namespace

int main(int argc, char** argv) try {
  const bool temporary = argc < 2;
  const std::string run_dir =
      temporary ? (std::filesystem::temp_directory_path() / "elarin_moe_example_").string() +
                      std::to_string(::getpid())
                : argv[1];
  torch::manual_seed(1);
  torch::set_num_threads(std::min(torch::get_num_threads(), 4));

  elarin::Config config;
  elarin::models::BioMoESettings settings;  // every section with its defaults
  settings.bind(config);
  config.load_string(kSettingsYaml, "train_bio_moe");  // unknown keys and bad values throw

  const auto train = make_shapes(2048, 1), test = make_shapes(512, 2);
  elarin::models::BioMoETrainer trainer(settings, config, run_dir, /*tensorboard=*/false);
  const auto metrics = trainer.fit(train, test);  // one log line per epoch on stderr

  std::printf("test accuracy %.3f (chance 0.25) after %lld epochs in %.1f s\n",
              metrics["test_acc"].get<double>(), metrics["epochs"].get<long long>(),
              metrics["seconds"].get<double>());
  std::printf("experts active %lld of %lld slots, %lld parameters\n",
              metrics["experts_active"].get<long long>(),
              static_cast<long long>(settings.core.expert_count),
              metrics["params"].get<long long>());
  if (!temporary) std::printf("checkpoint: %s/model.safetensors\n", run_dir.c_str());
  if (temporary) std::filesystem::remove_all(run_dir);
  return metrics["test_acc"].get<double>() > 0.5 ? 0 : 1;
} catch (const std::exception& e) {  // elarin throws UsageError, Error, FormatError
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
