// `elarin train lm`: nanoGPT's training loop for the Elara LM on a text file, character
// level. Random windows from the first 90% (train) and the last 10% (val); AdamW with decay
// only on matrices (not norms, biases or embeddings); linear warm-up then cosine to min_lr;
// gradient clipping and accumulation; evaluation every eval_interval iterations over
// eval_iters batches of each split (iteration 0 and the last included, as nanoGPT does);
// nanoGPT-style log lines, metrics JSONL / TensorBoard, an atomic checkpoint at each eval.
// Each batch is split into one shard per thread (nn/data_parallel.hpp); evaluation batches
// run one per thread.
// With `resume`, continues a run from its last evaluation exactly: weights, AdamW moments,
// the random state and the counters come back, so the losses match an uninterrupted run
// (same thread count; dropout > 0 draws from threads in no fixed order). With a SentencePiece
// model, trains on its ids (each line encoded as spm_encode does, then </s>).
//
//   elarin::Config config;
//   elarin::models::LmSettings s;  // bound under lm.model.* and lm.train.*
//   s.bind(config);
//   config.set("lm.train.max_iters=200");
//   nlohmann::json metrics =
//       elarin::models::train_lm(s, config, "input.txt", "runs/lm", /*tensorboard=*/true);
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "elarin/core/config.hpp"
#include "elarin/models/elara/elara_config.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "elarin/nn/data_parallel.hpp"

namespace elarin::models {

struct LmTrainConfig {
  int64_t batch_size = 12;
  int64_t grad_accum = 1;
  int64_t max_iters = 2000;
  double lr = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup_iters = 100;
  int64_t lr_decay_iters = 2000;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double grad_clip = 1.0;
  int64_t eval_interval = 250;
  int64_t eval_iters = 20;
  int64_t log_interval = 10;
  double val_fraction = 0.1;
  double aux_weight = 1.0;
  int64_t shards = 0;
  double diffusion_weight = 0.5;
  std::string draft_target = "data";
  template <class V>
  void visit(V& v) {
    v("batch_size", batch_size, "sequences per micro-batch", at_least(1));
    v("grad_accum", grad_accum, "micro-batches per optimizer step", at_least(1));
    v("max_iters", max_iters, "optimizer steps (the loop runs 0 .. max_iters)", at_least(0));
    v("lr", lr, "peak learning rate", greater_than(0));
    v("min_lr", min_lr, "final learning rate, the cosine floor (at most lr)", at_least(0));
    v("warmup_iters", warmup_iters, "linear warm-up steps", at_least(0));
    v("lr_decay_iters", lr_decay_iters,
      "step at which the cosine reaches min_lr (after warmup_iters)", at_least(1));
    v("weight_decay", weight_decay, "AdamW weight decay on matrices", at_least(0));
    v("beta1", beta1, "AdamW beta1", in_range(0, 1).open_high());
    v("beta2", beta2, "AdamW beta2", in_range(0, 1).open_high());
    v("grad_clip", grad_clip, "global gradient-norm clip; 0 = off", at_least(0));
    v("eval_interval", eval_interval, "iterations between evaluations", at_least(1));
    v("eval_iters", eval_iters, "batches per split per evaluation", at_least(1));
    v("log_interval", log_interval, "iterations between log lines", at_least(1));
    v("val_fraction", val_fraction, "share of the text held out for validation (the end)",
      Constraint::interval(0, 1, true, true));
    v("aux_weight", aux_weight, "weight of the MoE load-balancing loss", at_least(0));
    v("shards", shards, "data-parallel shards of each batch, one per thread; 0 = thread count",
      at_least(0));
    v("diffusion_weight", diffusion_weight, "loss = loss_ar + diffusion_weight * loss_diffusion",
      at_least(0));
    v("draft_target", draft_target,
      "what the masks learn: data (the text) | ar (the AR head's greedy prediction there) | "
      "mix (half each)",
      one_of({"data", "ar", "mix"}));
  }
  void validate() const;  // UsageError naming lm.train.<key>
};

struct LmSettings {
  ElaraConfig model;
  LmTrainConfig train;
  void bind(Config& config) {
    config.add("lm.model", model);
    config.add("lm.train", train);
  }
  void validate() const {
    model.validate();
    train.validate();
  }
};

// nanoGPT's schedule: lr * (it + 1) / (warmup + 1) while warming up, then cosine from lr to
// min_lr between warmup_iters and lr_decay_iters, min_lr after.
double lm_learning_rate(const LmTrainConfig& t, int64_t it);

struct LmStepLosses {
  double loss = 0;        // batch-mean AR cross-entropy
  double draft_loss = 0;  // batch-mean diffusion cross-entropy (0 without masks)
};

// TiDAR's training layout for a window of T tokens, as decoding uses it: a block of
// draft_len masks (ahead 1) after the prefixes first, first + draft_len + 1, ... (first in
// 1..draft_len + 1, drawn by the caller), as many as fit inside the window.
MaskBlocks lm_draft_blocks(int64_t T, int64_t draft_len, int64_t first);

// One micro-batch of train lm: x, y (B, T) split into `shards` run in parallel; every token
// trains the AR head and, with blocks, each block's masks learn the tokens after its prefix
// (cross-entropy against y, weighted 1 - ar_share, plus against the AR head's argmax there,
// weighted ar_share). Adds scale * d(loss + aux_weight aux + diffusion_weight draft)/dparams
// to the parameters' .grad, summed in shard order.
LmStepLosses lm_accumulate_step(ElaraModel& model, const std::vector<torch::Tensor>& params,
                                const std::vector<nn::Shard>& shards, const torch::Tensor& x,
                                const torch::Tensor& y, const MaskBlocks* blocks,
                                double aux_weight, double diffusion_weight, double scale,
                                double ar_share = 0.0);

// Trains on the text file at `text_path` (character level; the model's vocab_size is set
// from the text), writing run_dir/{model,trainer}.safetensors and metrics.jsonl. With
// `resume`, starts from run_dir's checkpoint instead of from scratch. Returns the final
// metrics: train_loss, val_loss, tokens_per_s, seconds, iters, params, params_active,
// vocab_size.
// `tokenizer_path`: a SentencePiece `.model` to train on its ids instead of characters.
nlohmann::json train_lm(LmSettings settings, const Config& config, const std::string& text_path,
                        const std::string& run_dir, bool tensorboard, bool resume = false,
                        const std::string& tokenizer_path = "");

}  // namespace elarin::models
