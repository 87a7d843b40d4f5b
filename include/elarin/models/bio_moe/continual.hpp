// Continual learning on Split-MNIST / Split-Fashion: five class-pair tasks trained one after
// another with no access to earlier tasks' images. Each task grows an expert (a clone of the
// previous one), earlier experts are frozen, and the gate learns to infer the task from
// the current task's features plus pseudo-features drawn from stored per-class Gaussian
// statistics (means and covariances of gate inputs -- no raw images are kept). Class-IL
// prediction: p(class) = p_gate(expert) * p(class | expert). Baselines in the same command:
// fine-tuning one network (lower bound) and joint training on all tasks (upper bound).
//
//   auto metrics = elarin::models::run_split_benchmark(settings, config, "runs/split", train,
//                                                      test, "both", true);
//   metrics["class_il_acc"], metrics["task_il_acc"], metrics["baselines"]["finetune"]...
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
