// Growth policy of the Bio-MoE core: scheduled growth (e.g. 1 -> 3 -> 6 experts at given
// epochs), entropy- or plateau-triggered neurogenesis, cloning a teacher with noise, the
// teaching that follows (distillation alpha 1.0 for a bootstrap epoch, then the base alpha),
// committee teachers, and pruning of low-utilisation experts. Leaves out the training loop:
// the trainer asks lessons() what to distil each epoch.
//
//   elarin::nn::MoEConfig moe;
//   moe.d_model = 64;  moe.d_out = 64;  moe.expert_count = 6;  moe.active_experts = 2;
//   elarin::nn::MoECore core(moe);
//   elarin::nn::GrowthConfig cfg;
//   cfg.schedule_epochs = {3, 5};  cfg.schedule_counts = {4, 6};  // 2 -> 4 -> 6 experts
//   elarin::nn::GrowthController growth(cfg);
//   elarin::nn::EpochSignals signals{/*val_loss=*/0.4, /*gate_entropy=*/0.8, {0.5, 0.5}};
//   elarin::nn::GrowthEvent event = growth.step(/*epoch=*/3, signals, *core);  // event.added: 2
//   torch::Tensor x = torch::randn({32, 64});
//   auto loss = core->forward(x).y.pow(2).mean();
//   for (const auto& l : growth.lessons())  // the new experts learn from their teacher
//     loss = loss + l.alpha * core->distill_loss(x, l.teacher, l.student);
#pragma once

#include <string>
#include <vector>

#include "elarin/nn/moe/moe_core.hpp"

namespace elarin::nn {

struct GrowthConfig {
  std::vector<int64_t> schedule_epochs;
  std::vector<int64_t> schedule_counts;
  std::string trigger = "none";
  double entropy_threshold = 0.95;
  int64_t plateau_patience = 2;
  double plateau_delta = 1e-3;
  int64_t grow_step = 1;
  std::string clone = "best";
  double clone_noise = 0.01;
  int64_t teach_epochs = 2;
  double bootstrap_alpha = 1.0;
  double teach_alpha = 0.5;
  double prune_threshold = 0.0;
  int64_t prune_after = 3;
  template <class V>
  void visit(V& v) {
    v("schedule_epochs", schedule_epochs,
      "epochs at which the active count steps up, increasing, e.g. [2, 4]", at_least(0));
    v("schedule_counts", schedule_counts,
      "active expert count from those epochs on, not falling, e.g. [3, 6]", at_least(1));
    v("trigger", trigger, "unscheduled neurogenesis", one_of({"none", "entropy", "plateau"}));
    v("entropy_threshold", entropy_threshold, "grow when the normalised gate entropy exceeds this");
    v("plateau_patience", plateau_patience, "epochs without improvement before growing");
    v("plateau_delta", plateau_delta, "an improvement smaller than this is a plateau");
    v("grow_step", grow_step, "experts added per trigger", at_least(1));
    v("clone", clone, "new experts: none (a fresh slot) | best | committee",
      one_of({"none", "best", "committee"}));
    v("clone_noise", clone_noise, "clone noise relative to each tensor's std", at_least(0));
    v("teach_epochs", teach_epochs, "epochs a new expert is distilled from its teacher",
      at_least(0));
    v("bootstrap_alpha", bootstrap_alpha, "distillation weight, first teaching epoch");
    v("teach_alpha", teach_alpha, "distillation weight, later teaching epochs");
    v("prune_threshold", prune_threshold, "prune below this fraction of a uniform share; 0 = off",
      in_range(0, 1).open_high());
    v("prune_after", prune_after, "first epoch at which pruning may happen");
  }
  void validate() const;
};

struct EpochSignals {
  double val_loss = 0;              // the last epoch's validation (or training) loss
  double gate_entropy = 0;          // normalised mean gate entropy in [0, 1]
  std::vector<double> utilization;  // per expert share of routed rows
};

struct GrowthEvent {
  int64_t added = 0;
  int64_t teacher = -1;  // expert cloned (-1: fresh slots)
  std::vector<int64_t> pruned;
  std::string reason;  // "schedule", "entropy", "plateau" or empty
};

class GrowthController {
 public:
  explicit GrowthController(const GrowthConfig& config);
  // At the start of `epoch` (1-based), with the previous epoch's signals: grows and prunes.
  GrowthEvent step(int64_t epoch, const EpochSignals& signals, MoECoreImpl& core);
  struct Lesson {
    int64_t student;
    int64_t teacher;  // -1: committee of the other experts
    double alpha;
  };
  // What to distil during the current epoch (set by step()).
  std::vector<Lesson> lessons() const;

 private:
  GrowthConfig config_;
  double best_loss_ = 0;
  bool have_best_ = false;
  int64_t stale_ = 0;
  struct Pupil {
    int64_t student, teacher, born;  // born: the epoch growth happened
  };
  std::vector<Pupil> pupils_;
  int64_t epoch_ = 0;
};

}  // namespace elarin::nn
