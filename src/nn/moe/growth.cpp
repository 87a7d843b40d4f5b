// Growth policy: schedule, neurogenesis triggers, cloning + teaching, pruning.
#include <torch/torch.h>

#include <algorithm>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/growth.hpp"

namespace elarin::nn {

void GrowthConfig::validate() const {
  if (schedule_epochs.size() != schedule_counts.size())
    throw UsageError(
        "moe.growth.schedule_epochs and moe.growth.schedule_counts must have the same length (" +
        std::to_string(schedule_epochs.size()) + " vs " + std::to_string(schedule_counts.size()) +
        ")");
  for (size_t i = 1; i < schedule_epochs.size(); ++i)
    if (schedule_epochs[i] <= schedule_epochs[i - 1] || schedule_counts[i] < schedule_counts[i - 1])
      throw UsageError("moe.growth.schedule_*: epochs must increase and counts must not fall");
  check_constraints(*this, "moe.growth");
}

GrowthController::GrowthController(const GrowthConfig& config) : config_(config) {
  config_.validate();
}

GrowthEvent GrowthController::step(int64_t epoch, const EpochSignals& s, MoECoreImpl& core) {
  epoch_ = epoch;
  GrowthEvent ev;
  const int64_t active = core.active_count();
  int64_t target = active;
  for (size_t i = 0; i < config_.schedule_epochs.size(); ++i)
    if (epoch >= config_.schedule_epochs[i]) target = std::max(target, config_.schedule_counts[i]);
  if (target > active) ev.reason = "schedule";
  if (epoch > 1 && ev.reason.empty()) {
    if (config_.trigger == "entropy" && s.gate_entropy > config_.entropy_threshold) {
      target = active + config_.grow_step;
      ev.reason = "entropy";
    } else if (config_.trigger == "plateau") {
      if (!have_best_ || s.val_loss < best_loss_ - config_.plateau_delta) {
        best_loss_ = s.val_loss;
        have_best_ = true;
        stale_ = 0;
      } else if (++stale_ >= config_.plateau_patience) {
        target = active + config_.grow_step;
        ev.reason = "plateau";
        stale_ = 0;
      }
    }
  }
  target = std::min(target, core.capacity());
  if (target > active) {
    // Teacher: the available expert with the largest share of the last epoch's routing.
    auto avail = core.available();
    int64_t teacher = avail.front();
    for (auto e : avail)
      if (e < static_cast<int64_t>(s.utilization.size()) &&
          s.utilization[e] > s.utilization[teacher])
        teacher = e;
    const bool copy = config_.clone != "none";
    core.grow(target - active, copy ? teacher : -1, copy ? config_.clone_noise : 0.0);
    ev.added = target - active;
    ev.teacher = copy ? teacher : -1;
    if (copy && config_.teach_epochs > 0)
      for (int64_t e = active; e < target; ++e)
        pupils_.push_back({e, config_.clone == "committee" ? -1 : teacher, epoch});
  } else {
    ev.reason.clear();
  }
  if (config_.prune_threshold > 0 && epoch >= config_.prune_after) {
    auto avail = core.available();
    const double floor = config_.prune_threshold / static_cast<double>(avail.size());
    int64_t left = static_cast<int64_t>(avail.size());
    for (auto e : avail) {
      const bool pupil = std::any_of(pupils_.begin(), pupils_.end(),
                                     [&](const Pupil& p) { return p.student == e; });
      const bool newborn = e >= active && e < target;  // no routing history yet
      if (pupil || newborn || left <= core.config().top_k) continue;
      if (e < static_cast<int64_t>(s.utilization.size()) && s.utilization[e] < floor) {
        core.set_pruned(e, true);
        ev.pruned.push_back(e);
        --left;
      }
    }
  }
  // Retire pupils whose teaching is over.
  pupils_.erase(
      std::remove_if(pupils_.begin(), pupils_.end(),
                     [&](const Pupil& p) { return epoch >= p.born + config_.teach_epochs; }),
      pupils_.end());
  return ev;
}

std::vector<GrowthController::Lesson> GrowthController::lessons() const {
  std::vector<Lesson> out;
  for (const auto& p : pupils_)
    out.push_back(
        {p.student, p.teacher, epoch_ == p.born ? config_.bootstrap_alpha : config_.teach_alpha});
  return out;
}

}  // namespace elarin::nn
