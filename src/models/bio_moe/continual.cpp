// Split-* continual learning: expert-per-task growth with freezing, a gate trained with
// Gaussian feature replay, and the fine-tune / joint baselines measured in the same run.
#include <torch/torch.h>

#include <chrono>
#include <filesystem>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/metrics_log.hpp"
#include "elarin/core/progress.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/models/bio_moe/continual.hpp"

namespace elarin::models {
namespace {

// Rows of `labels` in classes {2t, 2t+1}.
torch::Tensor task_rows(const torch::Tensor& labels, int64_t t) {
  return labels.eq(2 * t).logical_or(labels.eq(2 * t + 1)).nonzero().flatten();
}

torch::Tensor task_mask(int64_t classes, int64_t t) {
  auto m = torch::zeros({classes}, torch::kBool);
  m[2 * t] = true;
  m[2 * t + 1] = true;
  return m;
}

// A class's Gaussian over gate inputs: mean and a Cholesky factor of its shrunk covariance.
struct ClassGaussian {
  torch::Tensor mean;  // (D,)
  torch::Tensor chol;  // (D, D) lower
  int64_t expert;
};

ClassGaussian fit_gaussian(const torch::Tensor& g, double shrink, int64_t expert) {
  auto mean = g.mean(0);
  auto c = g - mean;
  auto cov = c.t().mm(c) / static_cast<double>(std::max<int64_t>(g.size(0) - 1, 1));  // (D, D)
  const double avg_var = cov.diagonal().mean().item<double>();
  const int64_t D = g.size(1);
  cov = (1 - shrink) * cov + (shrink * avg_var + 1e-6) * torch::eye(D);
  return {mean, torch::linalg_cholesky(cov), expert};
}

struct SplitScores {
  double class_il = 0, task_il = 0, task_inference = 0;
};

// Batched evaluation of the grown model on `rows` of the test set.
SplitScores evaluate_grown(BioMoEClassifier& model, const torch::Tensor& images,
                           const torch::Tensor& labels, int64_t tasks_seen, int64_t classes) {
  torch::NoGradGuard no_grad;
  model->eval();
  auto& core = *model->core;
  SplitScores s;
  const int64_t N = images.size(0);
  double ci = 0, ti = 0, inf = 0;
  for (int64_t start = 0; start < N; start += 1000) {
    const int64_t n = std::min<int64_t>(1000, N - start);
    auto x = images.narrow(0, start, n);
    auto y = labels.narrow(0, start, n);
    auto out = model->forward(x);
    auto log_gate = torch::log(out.moe.probs.clamp_min(1e-12));  // (n, E)
    auto scores = torch::full({n, classes}, -1e9);
    auto task_scores = torch::full({n, classes}, -1e9);
    auto true_task = y.div(2, "floor");  // (n,)
    for (int64_t e = 0; e < tasks_seen; ++e) {
      auto mask = task_mask(classes, e);
      auto logits =
          model->head(core.expert_output(e, out.features)).masked_fill(mask.logical_not(), -1e9);
      auto within = torch::log_softmax(logits, 1);               // p(class | expert e)
      auto joint = within + log_gate.select(1, e).unsqueeze(1);  // p(e) p(class | e)
      scores = torch::where(mask.unsqueeze(0), joint, scores);
      auto mine = true_task.eq(e).unsqueeze(1).logical_and(mask.unsqueeze(0));
      task_scores = torch::where(mine, logits, task_scores);
    }
    ci += scores.argmax(1).eq(y).sum().item<double>();
    ti += task_scores.argmax(1).eq(y).sum().item<double>();
    inf += out.moe.probs.argmax(1).eq(true_task).sum().item<double>();
  }
  s.class_il = ci / static_cast<double>(N);
  s.task_il = ti / static_cast<double>(N);
  s.task_inference = inf / static_cast<double>(N);
  return s;
}

// Class-IL and task-IL accuracy of a single-network baseline.
SplitScores evaluate_flat(BioMoEClassifier& model, const torch::Tensor& images,
                          const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  model->eval();
  double ci = 0, ti = 0;
  const int64_t N = images.size(0);
  for (int64_t start = 0; start < N; start += 1000) {
    const int64_t n = std::min<int64_t>(1000, N - start);
    auto x = images.narrow(0, start, n);
    auto y = labels.narrow(0, start, n);
    auto logits = model->forward(x).logits;  // (n, classes)
    ci += logits.argmax(1).eq(y).sum().item<double>();
    auto cls = torch::arange(logits.size(1)).unsqueeze(0);
    auto same_task = cls.div(2, "floor").eq(y.div(2, "floor").unsqueeze(1));
    ti += logits.masked_fill(same_task.logical_not(), -1e9).argmax(1).eq(y).sum().item<double>();
  }
  return {ci / static_cast<double>(N), ti / static_cast<double>(N), 0};
}

BioMoESettings single_network(BioMoESettings s) {
  s.core.expert_count = 1;
  s.core.active_experts = 1;
  s.core.top_k = 1;
  s.growth.schedule_epochs.clear();
  s.growth.schedule_counts.clear();
  s.growth.trigger = "none";
  s.growth.prune_threshold = 0;
  return s;
}

nlohmann::json run_finetune(const BioMoESettings& base, const Config& config,
                            const std::string& dir, const ImageDataset& train,
                            const ImageDataset& test, bool tb) {
  auto s = single_network(base);
  const auto& c = s.continual;
  BioMoETrainer trainer(s, config, dir, tb);
  int64_t steps = 0;
  for (int64_t t = 0; t < c.tasks; ++t)
    steps += c.epochs_per_task *
             ((task_rows(train.labels, t).size(0) + s.train.batch_size - 1) / s.train.batch_size);
  trainer.set_total_steps(steps);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t epoch = 0;
  for (int64_t t = 0; t < c.tasks; ++t) {
    auto rows = task_rows(train.labels, t);
    auto x = train.images.index_select(0, rows), y = train.labels.index_select(0, rows);
    for (int64_t e = 0; e < c.epochs_per_task; ++e) {
      nn::RoutingStats stats(1);
      trainer.train_epoch(x, y, ++epoch, stats);
    }
  }
  auto r = evaluate_flat(trainer.model(), test.images, test.labels);
  log_info("baseline finetune: class-IL {:.4f} task-IL {:.4f} ({:.1f} s)", r.class_il, r.task_il,
           seconds_since(t0));
  return {{"class_il_acc", r.class_il}, {"task_il_acc", r.task_il}, {"seconds", seconds_since(t0)}};
}

nlohmann::json run_joint(const BioMoESettings& base, const Config& config, const std::string& dir,
                         const ImageDataset& train, const ImageDataset& test, bool tb) {
  auto s = single_network(base);
  s.train.epochs = s.continual.epochs_per_task;  // same number of steps as the sequential runs
  BioMoETrainer trainer(s, config, dir, tb);
  const auto t0 = std::chrono::steady_clock::now();
  auto rows = torch::zeros({0}, torch::kInt64);
  for (int64_t t = 0; t < s.continual.tasks; ++t)
    rows = torch::cat({rows, task_rows(train.labels, t)});
  ImageDataset sub{train.images.index_select(0, rows), train.labels.index_select(0, rows),
                   train.class_names};
  trainer.fit(sub, test);
  auto r = evaluate_flat(trainer.model(), test.images, test.labels);
  log_info("baseline joint: class-IL {:.4f} task-IL {:.4f} ({:.1f} s)", r.class_il, r.task_il,
           seconds_since(t0));
  return {{"class_il_acc", r.class_il}, {"task_il_acc", r.task_il}, {"seconds", seconds_since(t0)}};
}

}  // namespace

nlohmann::json run_split_benchmark(const BioMoESettings& settings, const Config& config,
                                   const std::string& run_dir, const ImageDataset& train_all,
                                   const ImageDataset& test_all, const std::string& baseline,
                                   bool tensorboard) {
  const auto& c = settings.continual;
  const int64_t classes = settings.model.classes;
  // Only the classes of the tasks take part.
  auto keep = [&](const ImageDataset& d) {
    auto rows = d.labels.lt(2 * c.tasks).nonzero().flatten();
    return ImageDataset{d.images.index_select(0, rows), d.labels.index_select(0, rows),
                        d.class_names};
  };
  const ImageDataset train = keep(train_all), test = keep(test_all);

  BioMoESettings s = settings;
  s.core.expert_count = c.tasks;
  s.core.active_experts = 1;
  s.core.top_k = 1;
  s.core.balance = "none";
  s.core.group_count = 1;
  s.validate();
  BioMoEClassifier model(s.model, s.core);  // seeded by the caller (runtime.seed)
  auto& core = *model->core;
  if (c.freeze_stem) {
    for (auto& [name, p] : model->named_parameters(true).pairs())
      if (name.rfind("core.", 0) != 0 && name.rfind("classifier.", 0) != 0)
        p.set_requires_grad(false);
  }
  nn::AdamWOptions adam;
  adam.lr = s.train.lr;
  adam.weight_decay = 0.0;  // decay would shrink the frozen experts' head rows between restores
  nn::FusedAdamW opt(model->parameters(), adam);
  MetricsLog metrics((std::filesystem::path(run_dir) / "metrics.jsonl").string(),
                     tensorboard ? run_dir : std::string());
  std::vector<ClassGaussian> memory;
  nlohmann::json matrix = nlohmann::json::array();  // class-IL accuracy on each seen task
  const auto t0 = std::chrono::steady_clock::now();
  int64_t step = 0;
  for (int64_t t = 0; t < c.tasks; ++t) {
    if (t > 0) {
      core.grow(1, t - 1, c.clone_noise);
      core.set_frozen(t - 1, true);
    }
    auto rows = task_rows(train.labels, t);
    auto x_all = train.images.index_select(0, rows), y_all = train.labels.index_select(0, rows);
    auto allowed = task_mask(classes, t);
    // Rows of the classifier that belong to earlier tasks are restored after every step.
    auto head_w = model->classifier->weight.detach().clone();
    auto head_b = model->classifier->bias.detach().clone();
    auto old_rows = torch::ones({classes}, torch::kBool);
    for (int64_t u = t; u < classes / 2; ++u) old_rows.index_put_({task_mask(classes, u)}, false);
    const int64_t N = x_all.size(0);
    for (int64_t epoch = 1; epoch <= c.epochs_per_task; ++epoch) {
      model->train();
      if (c.freeze_stem && model->stem_bn) model->stem_bn->eval();  // frozen stem: fixed stats
      auto perm = torch::randperm(N, torch::kInt64);
      double loss_sum = 0, gate_sum = 0;
      ProgressBar bar(N, fmt::format("task {} epoch {}", t + 1, epoch), "img");
      for (int64_t start = 0; start < N; start += s.train.batch_size) {
        const int64_t n = std::min(s.train.batch_size, N - start);
        auto idx = perm.narrow(0, start, n);
        auto x = x_all.index_select(0, idx), y = y_all.index_select(0, idx);
        nn::GateControl control;  // teacher forcing: the task's own expert
        control.bias = torch::zeros({c.tasks});
        control.bias[t] = 1e4;
        auto out = model->forward(x, control);
        auto ce = torch::cross_entropy_loss(out.logits.masked_fill(allowed.logical_not(), -1e9), y);
        // The gate learns to name the task: real rows -> expert t, replayed rows -> their expert.
        auto g = out.gate_in.detach();
        auto target = torch::full({n}, t, torch::kInt64);
        if (!memory.empty() && c.replay_per_batch > 0) {
          auto pick = torch::randint(static_cast<int64_t>(memory.size()), {c.replay_per_batch});
          std::vector<torch::Tensor> rep;
          std::vector<int64_t> rep_t;
          auto pa = pick.accessor<int64_t, 1>();
          for (int64_t i = 0; i < c.replay_per_batch; ++i) {
            const auto& m = memory[pa[i]];
            rep.push_back(m.mean + m.chol.mv(torch::randn({m.mean.size(0)})));
            rep_t.push_back(m.expert);
          }
          g = torch::cat({g, torch::stack(rep)});
          target = torch::cat({target, torch::tensor(rep_t, torch::kInt64)});
        }
        auto gl = core.gate(g).masked_fill(core.available_mask().logical_not(), -1e9);
        auto gate_loss = torch::cross_entropy_loss(gl, target);
        auto loss = ce + gate_loss;
        opt.zero_grad();
        loss.backward();
        core.drop_frozen_grads();
        opt.step();
        ++step;
        {
          torch::NoGradGuard no_grad;
          auto w = model->classifier->weight, b = model->classifier->bias;
          w.index_put_({old_rows}, head_w.index({old_rows}));
          b.index_put_({old_rows}, head_b.index({old_rows}));
        }
        loss_sum += ce.item<double>() * static_cast<double>(n);
        gate_sum += gate_loss.item<double>() * static_cast<double>(n);
        bar.update(n);
      }
      bar.finish();
      metrics.log(step, {{"split/task", static_cast<double>(t + 1)},
                         {"split/loss", loss_sum / static_cast<double>(N)},
                         {"split/gate_loss", gate_sum / static_cast<double>(N)}});
    }
    // Store this task's class statistics (gate inputs only), then forget its images.
    {
      torch::NoGradGuard no_grad;
      model->eval();
      auto g = model->forward(x_all).gate_in;
      for (int64_t k = 0; k < 2; ++k) {
        auto rows_k = y_all.eq(2 * t + k).nonzero().flatten();
        memory.push_back(fit_gaussian(g.index_select(0, rows_k), c.cov_shrink, t));
      }
    }
    auto seen_rows = test.labels.lt(2 * (t + 1)).nonzero().flatten();
    auto r = evaluate_grown(model, test.images.index_select(0, seen_rows),
                            test.labels.index_select(0, seen_rows), t + 1, classes);
    matrix.push_back(r.class_il);
    log_info(
        "task {}/{} (classes {},{}): seen tasks class-IL {:.4f} task-IL {:.4f} gate {:.4f} ({:.1f} "
        "s)",
        t + 1, c.tasks, 2 * t, 2 * t + 1, r.class_il, r.task_il, r.task_inference,
        seconds_since(t0));
    metrics.log(step, {{"split/class_il", r.class_il},
                       {"split/task_il", r.task_il},
                       {"split/task_inference", r.task_inference}});
  }
  const double seconds = seconds_since(t0);
  auto final_scores = evaluate_grown(model, test.images, test.labels, c.tasks, classes);
  nlohmann::json out = {
      {"test_acc", final_scores.class_il},     {"class_il_acc", final_scores.class_il},
      {"task_il_acc", final_scores.task_il},   {"task_inference_acc", final_scores.task_inference},
      {"class_il_after_each_task", matrix},    {"seconds", seconds},
      {"experts_active", core.active_count()}, {"stored_raw_images", 0}};
  nlohmann::json base = nlohmann::json::object();
  if (baseline == "finetune" || baseline == "both")
    base["finetune"] =
        run_finetune(settings, config, run_dir + "/finetune", train, test, tensorboard);
  if (baseline == "joint" || baseline == "both")
    base["joint"] = run_joint(settings, config, run_dir + "/joint", train, test, tensorboard);
  out["baselines"] = base;
  return out;
}

}  // namespace elarin::models
