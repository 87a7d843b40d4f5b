// GrowthController: the growth schedule, neurogenesis triggers, teaching lessons and pruning.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/growth.hpp"
#include "nn/nn_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::nn::EpochSignals;
using elarin::nn::GrowthConfig;
using elarin::nn::GrowthController;
using elarin::nn::MoECore;

MoECore core_with(int64_t capacity, int64_t active, int64_t top_k = 1) {
  auto cfg = elarin::test::small_moe_config();
  cfg.expert_count = capacity;
  cfg.active_experts = active;
  cfg.top_k = top_k;
  return MoECore(cfg);
}

EpochSignals signals(double val_loss, std::vector<double> utilization = {}, double entropy = 0.5) {
  EpochSignals s;
  s.val_loss = val_loss;
  s.gate_entropy = entropy;
  s.utilization = std::move(utilization);
  return s;
}

TEST(MoEGrowth, ScheduleGrowsOneThreeSix) {
  torch::manual_seed(0);
  auto core = core_with(8, 1);
  GrowthConfig cfg;
  cfg.schedule_epochs = {2, 4};
  cfg.schedule_counts = {3, 6};
  GrowthController growth(cfg);
  std::vector<int64_t> active;
  std::vector<int64_t> added;
  std::vector<std::vector<GrowthController::Lesson>> lessons;
  // Last epoch's routing shares: expert 1 leads when epoch 4 picks its teacher.
  const std::vector<std::vector<double>> use = {{1.0}, {1.0}, {0.2, 0.5, 0.3}, {0.2, 0.5, 0.3}};
  for (int64_t epoch = 1; epoch <= 4; ++epoch) {
    auto ev = growth.step(epoch, signals(1.0, use[epoch - 1]), *core);
    active.push_back(core->active_count());
    added.push_back(ev.added);
    lessons.push_back(growth.lessons());
    EXPECT_EQ(ev.reason, ev.added > 0 ? "schedule" : "") << "epoch " << epoch;
  }
  EXPECT_EQ(active, (std::vector<int64_t>{1, 3, 3, 6}));
  EXPECT_EQ(added, (std::vector<int64_t>{0, 2, 0, 3}));
  // Epoch 1: nothing to teach. Epoch 2: students 1, 2 learn from 0 at the bootstrap alpha,
  // epoch 3 at the base alpha; epoch 4 retires them and teaches 3, 4, 5 from expert 1.
  EXPECT_TRUE(lessons[0].empty());
  ASSERT_EQ(lessons[1].size(), 2u);
  ASSERT_EQ(lessons[2].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(lessons[1][i].student, static_cast<int64_t>(i + 1));
    EXPECT_EQ(lessons[1][i].teacher, 0);
    EXPECT_DOUBLE_EQ(lessons[1][i].alpha, 1.0);
    EXPECT_EQ(lessons[2][i].student, static_cast<int64_t>(i + 1));
    EXPECT_DOUBLE_EQ(lessons[2][i].alpha, 0.5);
  }
  ASSERT_EQ(lessons[3].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lessons[3][i].student, static_cast<int64_t>(i + 3));
    EXPECT_EQ(lessons[3][i].teacher, 1);
    EXPECT_DOUBLE_EQ(lessons[3][i].alpha, 1.0);
  }
}

TEST(MoEGrowth, ClonesAreNoisyCopiesOfTheTeacher) {
  torch::manual_seed(1);
  auto core = core_with(4, 2);
  GrowthConfig cfg;
  cfg.schedule_epochs = {2};
  cfg.schedule_counts = {3};
  cfg.clone_noise = 0.01;
  GrowthController growth(cfg);
  auto x = torch::randn({8, 16});
  growth.step(1, signals(1.0, {0.5, 0.5}), *core);
  auto ev = growth.step(2, signals(1.0, {0.3, 0.7}), *core);
  ASSERT_EQ(ev.teacher, 1);
  const double d = elarin::test::max_abs_diff(core->expert_output(2, x), core->expert_output(1, x));
  const double scale = core->expert_output(1, x).abs().max().item<double>();
  EXPECT_GT(d, 0.0) << "clone_noise 0.01 left the clone identical";
  EXPECT_LT(d, 0.2 * scale) << "max diff " << d << " vs output scale " << scale;
}

TEST(MoEGrowth, CommitteeAndFreshCloneModes) {
  torch::manual_seed(2);
  GrowthConfig cfg;
  cfg.schedule_epochs = {2};
  cfg.schedule_counts = {3};
  cfg.clone = "committee";
  {
    auto core = core_with(4, 2);
    GrowthController growth(cfg);
    growth.step(2, signals(1.0, {0.5, 0.5}), *core);
    auto lessons = growth.lessons();
    ASSERT_EQ(lessons.size(), 1u);
    EXPECT_EQ(lessons[0].student, 2);
    EXPECT_EQ(lessons[0].teacher, -1);
  }
  {
    cfg.clone = "none";
    auto core = core_with(4, 2);
    GrowthController growth(cfg);
    auto ev = growth.step(2, signals(1.0, {0.5, 0.5}), *core);
    EXPECT_EQ(ev.added, 1);
    EXPECT_EQ(ev.teacher, -1);
    EXPECT_TRUE(growth.lessons().empty());
  }
}

TEST(MoEGrowth, PlateauTriggerGrowsAfterPatience) {
  torch::manual_seed(3);
  auto core = core_with(4, 2);
  GrowthConfig cfg;
  cfg.trigger = "plateau";
  cfg.plateau_patience = 2;
  cfg.plateau_delta = 1e-3;
  GrowthController growth(cfg);
  // Epoch 2 sets the best loss; 3 improves by less than delta; 4 stalls: grow; 5 improves.
  const std::vector<double> losses = {9.0, 1.0, 0.9995, 1.0, 0.5, 0.4};
  std::vector<int64_t> active;
  std::vector<std::string> reasons;
  for (int64_t epoch = 1; epoch <= 6; ++epoch) {
    auto ev = growth.step(epoch, signals(losses[epoch - 1], {0.5, 0.5}), *core);
    active.push_back(core->active_count());
    reasons.push_back(ev.reason);
  }
  EXPECT_EQ(active, (std::vector<int64_t>{2, 2, 2, 3, 3, 3}));
  EXPECT_EQ(reasons, (std::vector<std::string>{"", "", "", "plateau", "", ""}));
}

TEST(MoEGrowth, EntropyTriggerGrowsAboveThresholdOnly) {
  torch::manual_seed(4);
  auto core = core_with(4, 2);
  GrowthConfig cfg;
  cfg.trigger = "entropy";
  cfg.entropy_threshold = 0.9;
  cfg.grow_step = 2;
  GrowthController growth(cfg);
  // Epoch 1 has no previous epoch to judge.
  growth.step(1, signals(1.0, {0.5, 0.5}, 0.99), *core);
  EXPECT_EQ(core->active_count(), 2);
  growth.step(2, signals(1.0, {0.5, 0.5}, 0.5), *core);
  EXPECT_EQ(core->active_count(), 2);
  auto ev = growth.step(3, signals(1.0, {0.5, 0.5}, 0.95), *core);
  EXPECT_EQ(ev.reason, "entropy");
  EXPECT_EQ(core->active_count(), 4);
  // At capacity: no event.
  ev = growth.step(4, signals(1.0, {0.25, 0.25, 0.25, 0.25}, 0.99), *core);
  EXPECT_EQ(ev.added, 0);
  EXPECT_EQ(ev.reason, "");
  EXPECT_EQ(core->active_count(), 4);
}

TEST(MoEGrowth, PrunesLowUtilisationButNeverBelowTopK) {
  torch::manual_seed(5);
  auto core = core_with(4, 4, /*top_k=*/2);
  GrowthConfig cfg;
  cfg.prune_threshold = 0.5;  // below half a uniform share (0.125 of 4)
  cfg.prune_after = 2;
  GrowthController growth(cfg);
  const std::vector<double> low = {0.5, 0.45, 0.03, 0.02};
  auto ev = growth.step(1, signals(1.0, low), *core);
  EXPECT_TRUE(ev.pruned.empty()) << "pruned before prune_after";
  ev = growth.step(2, signals(1.0, low), *core);
  EXPECT_EQ(ev.pruned, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(core->available(), (std::vector<int64_t>{0, 1}));
  // Expert 1 is now far below half of 1/2, but only top_k = 2 experts are left.
  ev = growth.step(3, signals(1.0, {0.99, 0.01, 0.0, 0.0}), *core);
  EXPECT_TRUE(ev.pruned.empty());
  EXPECT_EQ(core->available(), (std::vector<int64_t>{0, 1}));
  // Pruned experts are no longer routed.
  auto index = core->forward(torch::randn({64, 16})).topk_index;
  EXPECT_TRUE(index.lt(2).all().item<bool>());
}

TEST(MoEGrowth, PupilsAreNotPruned) {
  torch::manual_seed(6);
  auto core = core_with(4, 3, /*top_k=*/1);
  GrowthConfig cfg;
  cfg.schedule_epochs = {2};
  cfg.schedule_counts = {4};
  cfg.prune_threshold = 0.5;
  cfg.prune_after = 1;
  GrowthController growth(cfg);
  // Expert 3 is born (a clone of 0) with no routing share yet: its teaching protects it.
  auto ev = growth.step(2, signals(1.0, {0.6, 0.2, 0.2, 0.0}), *core);
  EXPECT_EQ(ev.added, 1);
  EXPECT_TRUE(ev.pruned.empty());
  EXPECT_FALSE(core->is_pruned(3));
}

// Regression: experts grown in a step are not pruned in that same step (they have no
// routing history yet).
TEST(MoEGrowth, FreshExpertsAreNotPrunedInTheEpochTheyAreBorn) {
  torch::manual_seed(7);
  auto core = core_with(4, 2, /*top_k=*/1);
  GrowthConfig cfg;
  cfg.schedule_epochs = {3};
  cfg.schedule_counts = {4};
  cfg.clone = "none";
  cfg.prune_threshold = 0.5;
  cfg.prune_after = 1;
  GrowthController growth(cfg);
  // Per-slot shares of the last epoch (slots 2, 3 were inactive, so 0).
  auto ev = growth.step(3, signals(1.0, {0.5, 0.5, 0.0, 0.0}), *core);
  EXPECT_EQ(ev.added, 2);
  EXPECT_TRUE(ev.pruned.empty()) << "newborn experts pruned in the step that grew them";
  EXPECT_EQ(core->available(), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(MoEGrowth, ConfigValidationNamesTheKey) {
  auto msg_for = [](auto mutate) {
    GrowthConfig cfg;
    mutate(cfg);
    return elarin::test::error_message<elarin::UsageError>([&] { GrowthController g(cfg); });
  };
  auto msg = msg_for([](GrowthConfig& c) {
    c.schedule_epochs = {2, 4};
    c.schedule_counts = {3};
  });
  EXPECT_NE(msg.find("growth.schedule_epochs"), std::string::npos) << msg;
  msg = msg_for([](GrowthConfig& c) {
    c.schedule_epochs = {4, 2};
    c.schedule_counts = {3, 6};
  });
  EXPECT_NE(msg.find("epochs must increase"), std::string::npos) << msg;
  msg = msg_for([](GrowthConfig& c) { c.trigger = "loss"; });
  EXPECT_NE(msg.find("growth.trigger: got 'loss'"), std::string::npos) << msg;
  msg = msg_for([](GrowthConfig& c) { c.clone = "worst"; });
  EXPECT_NE(msg.find("growth.clone"), std::string::npos) << msg;
  msg = msg_for([](GrowthConfig& c) { c.grow_step = 0; });
  EXPECT_NE(msg.find("growth.grow_step"), std::string::npos) << msg;
}

TEST(MoEGrowth, ScheduleStopsAtCapacity) {
  torch::manual_seed(8);
  auto core = core_with(4, 1);
  GrowthConfig cfg;
  cfg.schedule_epochs = {2};
  cfg.schedule_counts = {10};
  GrowthController growth(cfg);
  auto ev = growth.step(2, signals(1.0, {1.0}), *core);
  EXPECT_EQ(ev.added, 3);
  EXPECT_EQ(core->active_count(), 4);
}

}  // namespace
