// MoECore: top-k gating, masks (frozen, pruned, inactive), growth, distillation, balancing,
// EMC and sparse/dense dispatch parity. Per-expert files are in test_zones.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/moe_core.hpp"
#include "nn/nn_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::nn::MoEConfig;
using elarin::nn::MoECore;
using elarin::test::max_abs_diff;
using elarin::test::small_moe_config;

std::set<int64_t> routed_set(const torch::Tensor& topk_index) {
  auto flat = topk_index.flatten().cpu();
  std::set<int64_t> out;
  for (int64_t i = 0; i < flat.numel(); ++i) out.insert(flat[i].item<int64_t>());
  return out;
}

TEST(MoECore, FrozenExpertIsBitIdenticalAfterAdamStep) {
  torch::manual_seed(0);
  MoECore core(small_moe_config());
  torch::optim::Adam opt(core->parameters(), torch::optim::AdamOptions(1e-2));
  auto x = torch::randn({64, 16});
  auto target = torch::randn({64, 8});
  auto train_step = [&] {
    opt.zero_grad();
    auto out = core->forward(x);
    (torch::mse_loss(out.y, target) + out.aux_loss).backward();
    core->drop_frozen_grads();
    opt.step();
    return out;
  };
  auto first = core->forward(x);
  const int64_t frozen = first.topk_index[0][0].item<int64_t>();
  const int64_t other = first.topk_index[0][1].item<int64_t>();
  const auto init = elarin::test::snapshot(*core->expert(frozen));
  for (int i = 0; i < 3; ++i) train_step();
  // Adam has moments for the expert we freeze: it moved while it was trainable.
  ASSERT_FALSE(elarin::test::same_as(*core->expert(frozen), init));

  core->set_frozen(frozen, true);
  EXPECT_TRUE(core->is_frozen(frozen));
  EXPECT_FALSE(core->is_frozen(other));
  const auto frozen_before = elarin::test::snapshot(*core->expert(frozen));
  const auto other_before = elarin::test::snapshot(*core->expert(other));
  auto out = train_step();
  // The frozen expert is still routed (freezing is not pruning), yet untouched by Adam.
  EXPECT_TRUE(routed_set(out.topk_index).count(frozen));
  EXPECT_TRUE(elarin::test::same_as(*core->expert(frozen), frozen_before))
      << "frozen expert " << frozen << " changed under Adam";
  EXPECT_TRUE(routed_set(out.topk_index).count(other));
  EXPECT_FALSE(elarin::test::same_as(*core->expert(other), other_before))
      << "unfrozen routed expert " << other << " did not change";

  core->set_frozen(frozen, false);
  train_step();
  EXPECT_FALSE(elarin::test::same_as(*core->expert(frozen), frozen_before))
      << "unfreezing did not make the expert trainable again";
}

TEST(MoECore, GrowthLeavesExistingExpertsBitIdentical) {
  torch::manual_seed(1);
  auto cfg = small_moe_config();
  cfg.active_experts = 3;
  MoECore core(cfg);
  auto x = torch::randn({10, 16});
  std::vector<torch::Tensor> before;
  for (int64_t e = 0; e < 3; ++e) before.push_back(core->expert_output(e, x).detach());

  core->grow(2);  // fresh slots
  EXPECT_EQ(core->active_count(), 5);
  EXPECT_EQ(core->available(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  core->grow(1, /*teacher=*/0, /*noise=*/0.05);  // a noisy clone
  EXPECT_EQ(core->active_count(), 6);
  for (int64_t e = 0; e < 3; ++e)
    EXPECT_TRUE(torch::equal(core->expert_output(e, x), before[e]))
        << "expert " << e << " changed by growth, max diff "
        << max_abs_diff(core->expert_output(e, x), before[e]);
  // The new experts are routed to.
  auto routed = routed_set(core->forward(torch::randn({256, 16})).topk_index);
  EXPECT_TRUE(routed.count(3) || routed.count(4) || routed.count(5));
  EXPECT_EQ(routed.count(6) + routed.count(7), 0u) << "inactive slot routed";
}

TEST(MoECore, GrowRefusesPastCapacityAndInactiveTeachers) {
  torch::manual_seed(2);
  auto cfg = small_moe_config();
  cfg.active_experts = 6;
  MoECore core(cfg);
  auto msg = elarin::test::error_message<elarin::UsageError>([&] { core->grow(3); });
  EXPECT_NE(msg.find("moe.expert_count"), std::string::npos) << msg;
  msg = elarin::test::error_message<elarin::UsageError>([&] { core->grow(1, 7); });
  EXPECT_NE(msg.find("teacher 7"), std::string::npos) << msg;
  EXPECT_EQ(core->active_count(), 6);
}

TEST(MoECore, CloneMatchesTeacherWithoutNoiseAndDiffersWithNoise) {
  torch::manual_seed(3);
  auto cfg = small_moe_config();
  cfg.active_experts = 4;
  MoECore core(cfg);
  auto x = torch::randn({12, 16});
  core->grow(1, /*teacher=*/1, /*noise=*/0.0);
  EXPECT_TRUE(torch::equal(core->expert_output(4, x), core->expert_output(1, x)))
      << "max diff " << max_abs_diff(core->expert_output(4, x), core->expert_output(1, x));
  // The clone inherits the teacher's gate row.
  EXPECT_TRUE(torch::equal(core->gate->weight[4], core->gate->weight[1]));
  EXPECT_TRUE(torch::equal(core->gate->bias[4], core->gate->bias[1]));

  core->grow(1, /*teacher=*/1, /*noise=*/0.1);
  const double diff = max_abs_diff(core->expert_output(5, x), core->expert_output(1, x));
  EXPECT_GT(diff, 1e-3) << "noisy clone equals its teacher, max diff " << diff;
  // Relative noise: the clone stays near its teacher.
  EXPECT_LT(diff, core->expert_output(1, x).abs().max().item<double>()) << "max diff " << diff;
}

// Optimises `student` on distill_loss for `steps` Adam steps; returns {first, last} loss.
std::pair<double, double> distill(MoECore& core, const torch::Tensor& x, int64_t teacher,
                                  int64_t student, int steps) {
  torch::optim::Adam opt(core->expert(student)->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    auto loss = core->distill_loss(x, teacher, student);
    loss.backward();
    opt.step();
    (i == 0 ? first : last) = loss.item<double>();
  }
  return {first, last};
}

TEST(MoECore, DistillLossFallsForExpertTeacher) {
  torch::manual_seed(4);
  auto cfg = small_moe_config();
  cfg.active_experts = 4;
  MoECore core(cfg);
  core->grow(1);  // fresh student in slot 4
  auto x = torch::randn({32, 16});
  const auto teacher_before = elarin::test::snapshot(*core->expert(0));
  auto [first, last] = distill(core, x, /*teacher=*/0, /*student=*/4, 50);
  EXPECT_LT(last, 0.5 * first) << "initial " << first << ", final " << last;
  // The teacher is detached: no gradient reaches it.
  for (const auto& p : core->expert(0)->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_TRUE(elarin::test::same_as(*core->expert(0), teacher_before));
}

TEST(MoECore, DistillLossFallsForCommitteeTeacher) {
  torch::manual_seed(5);
  MoECore core(small_moe_config());
  auto x = torch::randn({32, 16});
  auto [first, last] = distill(core, x, /*teacher=*/-1, /*student=*/0, 50);
  EXPECT_LT(last, 0.5 * first) << "initial " << first << ", final " << last;
  for (int64_t e = 1; e < 8; ++e)
    for (const auto& p : core->expert(e)->parameters())
      EXPECT_FALSE(p.grad().defined()) << "committee member " << e << " got a gradient";
}

TEST(MoECore, CommitteeExcludesTheStudent) {
  // With the student removed, the committee of a 2-expert core is the other expert alone.
  torch::manual_seed(6);
  auto cfg = small_moe_config();
  cfg.expert_count = 2;
  cfg.active_experts = 2;
  cfg.top_k = 2;
  MoECore core(cfg);
  auto x = torch::randn({8, 16});
  auto committee = core->distill_loss(x, -1, 0);
  auto direct = core->distill_loss(x, 1, 0);
  EXPECT_LE(max_abs_diff(committee, direct), 1e-6)
      << "max diff " << max_abs_diff(committee, direct);
}

// Checks the (N, E) gate weights and the forward's top-k weights of `core` on x.
void expect_topk_weights_normalised(MoECore& core, const torch::Tensor& x) {
  const int64_t k = core->config().top_k;
  auto w = core->compute_gate_weights(x);  // (N, E)
  auto row_err = max_abs_diff(w.sum(1), torch::ones({x.size(0)}));
  EXPECT_LE(row_err, 1e-6) << "gate weight rows sum to 1, max diff " << row_err;
  EXPECT_TRUE(torch::equal(w.ne(0).sum(1), torch::full({x.size(0)}, k, torch::kInt64)))
      << "rows do not have exactly top_k = " << k << " nonzeros";
  EXPECT_TRUE(w.ge(0).all().item<bool>());
  auto out = core->forward(x);
  ASSERT_EQ(out.topk_weight.sizes(), (std::vector<int64_t>{x.size(0), k}));
  auto fwd_err = max_abs_diff(out.topk_weight.sum(1), torch::ones({x.size(0)}));
  EXPECT_LE(fwd_err, 1e-6) << "topk_weight rows sum to 1, max diff " << fwd_err;
  // The forward routes with the same weights compute_gate_weights reports.
  auto dense = torch::zeros_like(w).scatter(1, out.topk_index, out.topk_weight);
  EXPECT_LE(max_abs_diff(dense, w), 1e-6) << "max diff " << max_abs_diff(dense, w);
}

TEST(MoECore, TopKWeightsSumToOne) {
  torch::manual_seed(7);
  auto x = torch::randn({64, 16});
  {
    MoECore core(small_moe_config());
    expect_topk_weights_normalised(core, x);
  }
  {
    auto cfg = small_moe_config();
    cfg.top_k = 3;
    cfg.group_count = 2;
    cfg.thalamic_scale = 0.5;
    cfg.predictive_weight = 0.3;
    cfg.temperature = 0.5;
    MoECore core(cfg);
    expect_topk_weights_normalised(core, x);
  }
  {
    auto cfg = small_moe_config();
    cfg.balance = "bias";
    cfg.bias_gamma = 0.05;
    MoECore core(cfg);
    for (int i = 0; i < 3; ++i) core->update_balance_bias(core->forward(x).topk_index);
    expect_topk_weights_normalised(core, x);
  }
}

// Columns of `gone` are exactly zero and never routed; returns the routed set.
void expect_never_routed(MoECore& core, const torch::Tensor& x, const std::vector<int64_t>& gone) {
  auto w = core->compute_gate_weights(x);
  auto out = core->forward(x);
  auto routed = routed_set(out.topk_index);
  for (auto e : gone) {
    EXPECT_TRUE(torch::equal(w.select(1, e), torch::zeros({x.size(0)})))
        << "expert " << e << " has a nonzero gate weight";
    EXPECT_EQ(routed.count(e), 0u) << "expert " << e << " routed";
    EXPECT_EQ(out.probs.select(1, e).max().item<float>(), 0.0f) << "expert " << e;
  }
  auto rows = torch::ones({x.size(0)});
  EXPECT_LE(max_abs_diff(w.sum(1), rows), 1e-6) << "max diff " << max_abs_diff(w.sum(1), rows);
}

TEST(MoECore, PrunedAndInactiveExpertsGetZeroGate) {
  torch::manual_seed(8);
  auto x = torch::randn({128, 16});
  for (int64_t groups : {1, 2}) {
    SCOPED_TRACE("group_count " + std::to_string(groups));
    auto cfg = small_moe_config();
    cfg.active_experts = 6;
    cfg.group_count = groups;
    MoECore core(cfg);
    // Make the masked experts the gate's favourites, so only the masks keep them out.
    {
      torch::NoGradGuard no_grad;
      for (int64_t e : {2, 6, 7}) core->gate->bias[e] = 20.0;
    }
    core->set_pruned(2, true);
    EXPECT_TRUE(core->is_pruned(2));
    EXPECT_EQ(core->available(), (std::vector<int64_t>{0, 1, 3, 4, 5}));
    EXPECT_TRUE(torch::equal(core->available_mask(),
                             torch::tensor({1, 1, 0, 1, 1, 1, 0, 0}, torch::kBool)));
    expect_never_routed(core, x, {2, 6, 7});
    // Un-pruning brings it back (and with its +20 bias it wins every row).
    core->set_pruned(2, false);
    auto w = core->compute_gate_weights(x);
    // With groups, its group's share bounds it, so it need not win every row.
    auto wins = w.select(1, 2).gt(0);
    EXPECT_TRUE(groups == 1 ? wins.all().item<bool>() : wins.any().item<bool>());
  }
}

TEST(MoECore, TopKShrinksToTheAvailableExperts) {
  torch::manual_seed(9);
  auto cfg = small_moe_config();
  cfg.top_k = 3;
  cfg.active_experts = 2;
  MoECore core(cfg);
  auto out = core->forward(torch::randn({5, 16}));
  EXPECT_EQ(out.topk_index.size(1), 2);
  EXPECT_EQ(routed_set(out.topk_index), (std::set<int64_t>{0, 1}));
}

// Two cores with identical weights, one per dispatch mode.
std::pair<MoECore, MoECore> twin_cores(MoEConfig cfg) {
  cfg.dispatch = "sparse";
  torch::manual_seed(10);
  MoECore sparse(cfg);
  cfg.dispatch = "dense";
  MoECore dense(cfg);
  torch::NoGradGuard no_grad;
  auto src = sparse->named_parameters(true);
  for (auto& p : dense->named_parameters(true)) p.value().copy_(src[p.key()]);
  auto src_b = sparse->named_buffers(true);
  for (auto& b : dense->named_buffers(true)) b.value().copy_(src_b[b.key()]);
  return {sparse, dense};
}

void expect_dispatch_parity(const MoEConfig& cfg, const std::vector<int64_t>& pruned) {
  auto [sparse, dense] = twin_cores(cfg);
  for (auto e : pruned) {
    sparse->set_pruned(e, true);
    dense->set_pruned(e, true);
  }
  torch::manual_seed(11);
  auto x0 = torch::randn({48, cfg.d_model});
  auto probe = torch::randn({48, cfg.d_out});
  elarin::nn::GateControl control;
  control.keep_routes = true;

  auto xs = x0.clone().requires_grad_(true);
  auto xd = x0.clone().requires_grad_(true);
  auto os = sparse->forward(xs, {}, control);
  auto od = dense->forward(xd, {}, control);
  ASSERT_TRUE(torch::equal(os.topk_index, od.topk_index));
  const double dy = max_abs_diff(os.y, od.y);
  EXPECT_LE(dy, 1e-5) << "y: sparse vs dense max diff " << dy;
  ASSERT_TRUE(os.route_out.defined() && od.route_out.defined());
  ASSERT_EQ(os.route_out.sizes(), od.route_out.sizes());
  const double dr = max_abs_diff(os.route_out, od.route_out);
  EXPECT_LE(dr, 1e-5) << "route_out: sparse vs dense max diff " << dr;
  // route_out[n, j] is expert topk_index[n, j] on row n.
  auto e0 = os.topk_index[0][0].item<int64_t>();
  auto ref = sparse->expert_output(e0, x0.narrow(0, 0, 1))[0];
  EXPECT_LE(max_abs_diff(os.route_out[0][0], ref), 1e-5);

  ((os.y * probe).sum() + os.aux_loss).backward();
  ((od.y * probe).sum() + od.aux_loss).backward();
  const double dx = max_abs_diff(xs.grad(), xd.grad());
  EXPECT_LE(dx, 1e-5) << "d/dx: sparse vs dense max diff " << dx;
  auto dense_params = dense->named_parameters(true);
  int64_t with_grad = 0;
  for (const auto& p : sparse->named_parameters(true)) {
    const auto& q = dense_params[p.key()];
    const double d = max_abs_diff(p.value().grad(), q.grad());
    EXPECT_LE(d, 1e-5) << "d/d" << p.key() << ": sparse vs dense max diff " << d;
    with_grad += p.value().grad().defined() ? 1 : 0;
  }
  EXPECT_GT(with_grad, 0);
}

TEST(MoECore, SparseAndDenseDispatchAgree) {
  auto cfg = small_moe_config();
  {
    SCOPED_TRACE("8 experts, top-2");
    expect_dispatch_parity(cfg, {});
  }
  {
    SCOPED_TRACE("shared expert, 2 groups, thalamic + predictive bias, 7 active, 1 pruned");
    cfg.shared_experts = 1;
    cfg.group_count = 2;
    cfg.thalamic_scale = 0.7;
    cfg.predictive_weight = 0.4;
    cfg.active_experts = 7;
    expect_dispatch_parity(cfg, {3});
  }
}

TEST(MoEConfig, ValidateNamesTheKey) {
  auto msg_for = [](auto mutate) {
    auto cfg = small_moe_config();
    mutate(cfg);
    return elarin::test::error_message<elarin::UsageError>([&] { cfg.validate(); });
  };
  auto msg = msg_for([](MoEConfig& c) { c.top_k = 0; });
  EXPECT_NE(msg.find("moe.top_k"), std::string::npos) << msg;
  msg = msg_for([](MoEConfig& c) { c.active_experts = 9; });
  EXPECT_NE(msg.find("moe.active_experts: got 9"), std::string::npos) << msg;
  msg = msg_for([](MoEConfig& c) { c.balance = "loss"; });
  EXPECT_NE(msg.find("moe.balance: got 'loss'"), std::string::npos) << msg;
  msg = msg_for([](MoEConfig& c) { c.dispatch = "fast"; });
  EXPECT_NE(msg.find("moe.dispatch"), std::string::npos) << msg;
  msg = msg_for([](MoEConfig& c) { c.temperature = 0; });
  EXPECT_NE(msg.find("moe.temperature"), std::string::npos) << msg;
  msg = msg_for([](MoEConfig& c) { c.group_count = 9; });
  EXPECT_NE(msg.find("moe.group_count"), std::string::npos) << msg;
  // The constructor validates too, and unknown expert types name the valid ones.
  auto cfg = small_moe_config();
  cfg.top_k = -1;
  EXPECT_THROW(MoECore{cfg}, elarin::UsageError);
  cfg = small_moe_config();
  cfg.expert_type = "rnn";
  msg = elarin::test::error_message<elarin::UsageError>([&] { MoECore core(cfg); });
  EXPECT_NE(msg.find("mlp"), std::string::npos) << msg;
}

TEST(MoECore, ForwardRejectsAWrongWidth) {
  torch::manual_seed(12);
  MoECore core(small_moe_config());
  EXPECT_THROW(core->forward(torch::randn({4, 15})), c10::Error);
}

TEST(MoECore, BiasBalanceLowersTheOverloadedExpert) {
  torch::manual_seed(13);
  auto cfg = small_moe_config();
  cfg.balance = "bias";
  cfg.bias_gamma = 0.5;
  cfg.active_experts = 6;
  MoECore core(cfg);
  auto bias = core->named_buffers(true)["balance_bias"];
  // The gate favours expert 0, so with no balance bias yet it is routed.
  {
    torch::NoGradGuard no_grad;
    core->gate->bias[0] = 3.0;
  }
  auto x = torch::randn({64, 16});
  ASSERT_TRUE(routed_set(core->forward(x).topk_index).count(0));
  // Expert 0 takes every row; 1..3 one or two rows; 4, 5 none; 6, 7 are inactive.
  auto index = torch::tensor({{0, 1}, {0, 2}, {0, 3}, {0, 1}}, torch::kInt64);
  core->update_balance_bias(index);
  EXPECT_LT(bias[0].item<float>(), 0.0f);
  EXPECT_GT(bias[4].item<float>(), 0.0f);
  EXPECT_GT(bias[5].item<float>(), 0.0f);
  EXPECT_EQ(bias[6].item<float>(), 0.0f) << "inactive slot biased";
  EXPECT_EQ(bias[7].item<float>(), 0.0f) << "inactive slot biased";
  // Two updates put expert 0 at -1 and the idle experts at +1: it leaves the top-k.
  core->update_balance_bias(index);
  EXPECT_EQ(routed_set(core->forward(x).topk_index).count(0), 0u);
}

TEST(MoECore, SwitchAuxLossPositiveInTrainingZeroInEval) {
  torch::manual_seed(14);
  auto cfg = small_moe_config();
  MoECore core(cfg);
  auto x = torch::randn({32, 16});
  core->train();
  auto out = core->forward(x);
  EXPECT_GT(out.aux_loss.item<double>(), 0.0);
  // It is differentiable with respect to the gate.
  out.aux_loss.backward();
  ASSERT_TRUE(core->gate->weight.grad().defined());
  EXPECT_GT(core->gate->weight.grad().abs().sum().item<double>(), 0.0);
  core->eval();
  EXPECT_EQ(core->forward(x).aux_loss.item<double>(), 0.0);
  // Other balance modes add no loss even in training.
  cfg.balance = "none";
  MoECore plain(cfg);
  plain->train();
  EXPECT_EQ(plain->forward(x).aux_loss.item<double>(), 0.0);
}

TEST(MoECore, EmcPenaltyZeroBeforeConsolidateAndGrowsWithDrift) {
  torch::manual_seed(15);
  auto cfg = small_moe_config();
  cfg.emc_lambda = 0.1;
  MoECore core(cfg);
  auto x = torch::randn({2, 16});
  auto out = core->forward(x);
  EXPECT_EQ(core->emc_penalty(out.topk_index).item<double>(), 0.0);
  core->consolidate();
  EXPECT_EQ(core->emc_penalty(out.topk_index).item<double>(), 0.0);
  // 2 rows x top-2 route to at most 4 experts: pick one that was not selected.
  auto routed = routed_set(out.topk_index);
  int64_t idle = 0;
  while (routed.count(idle)) ++idle;
  auto w = core->expert(idle)->named_parameters(true)["fc1.weight"];
  {
    torch::NoGradGuard no_grad;
    w.add_(0.1);
  }
  // lambda * (1 - share 0) * sum (0.1)^2 over fc1.weight.
  const double want = 0.1 * 1.0 * 0.01 * static_cast<double>(w.numel());
  const double got = core->emc_penalty(out.topk_index).item<double>();
  EXPECT_NEAR(got, want, 1e-4 * want) << "diff " << got - want;
  // The penalty pulls the drifted expert back.
  core->emc_penalty(out.topk_index).backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_GT(w.grad().min().item<double>(), 0.0);
  // Frozen experts carry no penalty.
  core->set_frozen(idle, true);
  EXPECT_EQ(core->emc_penalty(out.topk_index).item<double>(), 0.0);
}

// Regression: a clone grown after consolidate() is anchored at its new weights, so EMC does
// not pull it back toward the random init its slot held while inactive.
TEST(MoECore, EmcDoesNotAnchorAGrownCloneToItsOldInit) {
  torch::manual_seed(16);
  auto cfg = small_moe_config();
  cfg.emc_lambda = 0.1;
  cfg.active_experts = 4;
  MoECore core(cfg);
  core->consolidate();
  core->grow(1, /*teacher=*/0, /*noise=*/0.0);
  // Route every row to expert 1 only, so the clone (4) counts as non-selected.
  auto index = torch::ones({4, 1}, torch::kInt64);
  EXPECT_EQ(core->emc_penalty(index).item<double>(), 0.0)
      << "a clone that has not trained yet is penalised for differing from its slot's old init";
}

TEST(MoECore, PredictiveHeadLearnsOnlyFromPredictiveLoss) {
  torch::manual_seed(17);
  auto cfg = small_moe_config();
  MoECore off(cfg);
  auto x = torch::randn({16, 16});
  auto out_off = off->forward(x);
  EXPECT_FALSE(out_off.predicted_utility.defined());
  EXPECT_EQ(off->predictive_loss(out_off, torch::ones({16, 2})).item<double>(), 0.0);

  cfg.predictive_weight = 0.5;
  MoECore core(cfg);
  auto out = core->forward(x);
  ASSERT_EQ(out.predicted_utility.sizes(), (std::vector<int64_t>{16, 8}));
  EXPECT_TRUE(out.predicted_utility.ge(0).all().item<bool>());
  EXPECT_TRUE(out.predicted_utility.le(1).all().item<bool>());
  out.y.sum().backward();
  EXPECT_FALSE(core->predictive_head->weight.grad().defined())
      << "the task loss reached the predictive head";
  auto loss = core->predictive_loss(out, torch::ones({16, 2}));
  EXPECT_GT(loss.item<double>(), 0.0);
  loss.backward();
  ASSERT_TRUE(core->predictive_head->weight.grad().defined());
  EXPECT_GT(core->predictive_head->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(MoECore, RunsConvExperts) {
  torch::manual_seed(18);
  auto cfg = small_moe_config();
  cfg.expert_type = "conv1d";
  cfg.expert_channels = 2;  // rows of 16 viewed as (2, 8); d_out 8 = 1 channel x 8
  cfg.expert_hidden = 4;
  MoECore core(cfg);
  auto out = core->forward(torch::randn({6, 16}));
  EXPECT_EQ(out.y.sizes(), (std::vector<int64_t>{6, 8}));
  EXPECT_EQ(core->expert(0)->type(), "conv1d");
  EXPECT_EQ(core->expert_parameter_count(0), (2 * 4 * 3 + 4) + (4 * 1 * 3 + 1));
}

// A frozen expert is a fixed function: its BatchNorm running statistics (buffers, which no
// optimizer touches) must not move either while the core trains around it.
TEST(MoECore, FrozenExpertKeepsItsNormStatistics) {
  torch::manual_seed(19);
  auto cfg = small_moe_config();
  cfg.expert_type = "conv1d";
  cfg.expert_channels = 2;
  cfg.expert_hidden = 4;
  cfg.expert_norm = true;
  cfg.top_k = cfg.expert_count;  // every expert sees every row
  MoECore core(cfg);
  core->train();
  auto x = torch::randn({32, 16}) * 2 + 1;
  auto buffers = [&](int64_t e) {
    std::vector<torch::Tensor> out;
    for (const auto& t : core->expert(e)->buffers()) out.push_back(t.clone());
    return out;
  };
  core->set_frozen(0, true);
  const auto frozen_before = buffers(0), other_before = buffers(1);
  ASSERT_FALSE(frozen_before.empty());
  core->forward(x).y.sum().backward();
  const auto frozen_after = buffers(0), other_after = buffers(1);
  for (size_t i = 0; i < frozen_before.size(); ++i)
    EXPECT_TRUE(torch::equal(frozen_before[i], frozen_after[i])) << "buffer " << i;
  EXPECT_FALSE(torch::equal(other_before[0], other_after[0]))
      << "an unfrozen expert's running mean did not move";
  EXPECT_TRUE(core->expert(0)->is_training()) << "the frozen expert was left in eval mode";
}

}  // namespace
