// The Bio-MoE core: gating, top-k routing, sparse / dense dispatch, masks, balancing losses.
// Masked gate logits use a large finite negative (kMasked) rather than -inf, so empty groups
// and unavailable experts never put NaN into logsumexp's backward.
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/moe_core.hpp"

namespace elarin::nn {
namespace {

constexpr double kMasked = -1e9;

void check(bool ok, const std::string& key, const std::string& got, const std::string& want) {
  if (!ok) throw UsageError("moe." + key + ": got " + got + ", expected " + want);
}

// Top-k of `score` over available experts and the renormalised probs at the chosen ones.
std::pair<torch::Tensor, torch::Tensor> select_topk(const torch::Tensor& probs,
                                                    const torch::Tensor& score, int64_t k,
                                                    bool normalize) {
  auto index = std::get<1>(score.topk(k, 1));  // (N, k)
  auto weight = probs.gather(1, index);        // (N, k)
  if (!normalize) return {index, weight};      // Qwen2-MoE's norm_topk_prob = false
  // Renormalised to sum to 1. With k = 1 that is the constant 1, which would cut the gate off
  // from the task loss; p / stop_grad(p) keeps the value 1 and passes d/dp = 1/p.
  weight = k == 1 ? weight / weight.detach().clamp_min(1e-12)
                  : weight / weight.sum(1, true).clamp_min(1e-12);
  return {index, weight};
}

}  // namespace

void MoEConfig::validate() const {
  check_constraints(*this, "moe");
  check(active_experts <= expert_count, "active_experts", std::to_string(active_experts),
        "<= " + std::to_string(expert_count) + " (moe.expert_count)");
  check(group_count <= expert_count, "group_count", std::to_string(group_count),
        "<= " + std::to_string(expert_count) + " (moe.expert_count)");
}

ExpertSpec MoEConfig::expert_spec() const {
  ExpertSpec s;
  s.d_in = d_model;
  s.d_out = d_out;
  s.hidden = expert_hidden;
  s.channels = expert_channels;
  s.dropout = expert_dropout;
  s.norm = expert_norm;
  return s;
}

MoECoreImpl::MoECoreImpl(const MoEConfig& config) : config_(config) {
  config_.validate();
  const int64_t E = config_.expert_count;
  const int64_t gd = config_.gate_dim > 0 ? config_.gate_dim : config_.d_model;
  const ExpertSpec spec = config_.expert_spec();
  routed = register_module("routed", torch::nn::ModuleList());
  shared = register_module("shared", torch::nn::ModuleList());
  for (int64_t e = 0; e < E; ++e) {
    experts_.push_back(make_expert(config_.expert_type, spec));
    routed->push_back(experts_.back());
  }
  ExpertSpec shared_spec = spec;
  if (config_.shared_hidden > 0) shared_spec.hidden = config_.shared_hidden;
  for (int64_t s = 0; s < config_.shared_experts; ++s) {
    shared_experts_.push_back(make_expert(config_.expert_type, shared_spec));
    shared->push_back(shared_experts_.back());
  }
  if (config_.shared_gate && config_.shared_experts > 0)
    shared_expert_gate = register_module(
        "shared_expert_gate",
        torch::nn::Linear(torch::nn::LinearOptions(config_.d_model, 1).bias(false)));
  gate = register_module("gate", torch::nn::Linear(gd, E));
  if (config_.group_count > 1)
    group_gate = register_module("group_gate", torch::nn::Linear(gd, config_.group_count));
  if (config_.thalamic_scale != 0)
    thalamic_head = register_module("thalamic_head", torch::nn::Linear(gd, E));
  if (config_.predictive_weight != 0)
    predictive_head = register_module("predictive_head", torch::nn::Linear(gd, E));
  active_ = register_buffer("active", torch::tensor(config_.active_experts, torch::kInt64));
  pruned_ = register_buffer("pruned", torch::zeros({E}, torch::kBool));
  frozen_ = register_buffer("frozen", torch::zeros({E}, torch::kBool));
  balance_bias_ = register_buffer("balance_bias", torch::zeros({E}));
  // Interleaved groups, so growth fills them round-robin.
  group_of_ = register_buffer("group_of", torch::arange(E, torch::kInt64) % config_.group_count);
  anchors_.resize(E);
}

int64_t MoECoreImpl::active_count() const { return active_.item<int64_t>(); }

torch::Tensor MoECoreImpl::available_mask() const {
  auto ids = torch::arange(config_.expert_count, torch::kInt64).to(active_.device());
  return ids.lt(active_).logical_and(pruned_.logical_not());
}

std::vector<int64_t> MoECoreImpl::available() const {
  auto mask = available_mask().cpu();
  std::vector<int64_t> out;
  for (int64_t e = 0; e < mask.size(0); ++e)
    if (mask[e].item<bool>()) out.push_back(e);
  return out;
}

ExpertPtr MoECoreImpl::expert(int64_t e) const {
  TORCH_CHECK(e >= 0 && e < config_.expert_count, "expert index ", e, " out of range");
  return experts_[e];
}

int64_t MoECoreImpl::expert_parameter_count(int64_t e) const {
  int64_t n = 0;
  for (const auto& p : expert(e)->parameters()) n += p.numel();
  return n;
}

torch::Tensor MoECoreImpl::gate_logits(const torch::Tensor& g, const GateControl& control,
                                       torch::Tensor* thalamic, torch::Tensor* predicted) {
  const double T = control.temperature > 0 ? control.temperature : config_.temperature;
  auto logits = gate(g) / T;  // (N, E)
  if (control.bias.defined()) logits = logits + control.bias.to(logits.dtype()).unsqueeze(0);
  if (thalamic_head) {
    const auto& ctx = control.context.defined() ? control.context : g;
    *thalamic = config_.thalamic_scale * torch::tanh(thalamic_head(ctx));  // (N, E)
    logits = logits + *thalamic;
  } else {
    *thalamic = torch::zeros_like(logits);
  }
  if (predictive_head) {
    *predicted = torch::sigmoid(predictive_head(g));  // (N, E) utility in [0, 1]
    // Detached: the head learns from predictive_loss only, not from the task loss.
    logits = logits + config_.predictive_weight * (predicted->detach() - 0.5);
  }
  auto avail = available_mask();
  logits = logits.masked_fill(avail.logical_not().unsqueeze(0), kMasked);
  if (!group_gate) return logits;
  // Hierarchical gating: log p(e) = log p(group) + log p(e | group).
  const int64_t G = config_.group_count;
  auto groups = torch::arange(G, torch::kInt64).to(g.device());
  auto member = group_of_.unsqueeze(0).eq(groups.unsqueeze(1)).logical_and(avail.unsqueeze(0));
  auto within = torch::logsumexp(
      logits.unsqueeze(1).masked_fill(member.logical_not().unsqueeze(0), kMasked), 2);  // (N, G)
  auto group_logp = torch::log_softmax(
      group_gate(g).masked_fill(member.any(1).logical_not().unsqueeze(0), kMasked), 1);  // (N, G)
  auto logp = logits - within.index_select(1, group_of_) + group_logp.index_select(1, group_of_);
  return logp.masked_fill(avail.logical_not().unsqueeze(0), kMasked);
}

MoEOutput MoECoreImpl::forward(const torch::Tensor& x, const torch::Tensor& gate_in,
                               const GateControl& control) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == config_.d_model, "MoECore: expected x (N, ",
              config_.d_model, "), got ", x.sizes());
  const auto& g = gate_in.defined() ? gate_in : x;
  MoEOutput out;
  out.logits = gate_logits(g, control, &out.thalamic, &out.predicted_utility);
  out.probs = torch::softmax(out.logits, 1);  // (N, E)
  std::tie(out.topk_index, out.topk_weight) = route(out.probs);
  const int64_t n_avail = available_mask().sum().item<int64_t>();
  torch::Tensor* routes = control.keep_routes ? &out.route_out : nullptr;
  out.y = config_.dispatch == "dense" ? dispatch_dense(x, out.topk_index, out.topk_weight, routes)
                                      : dispatch_sparse(x, out.topk_index, out.topk_weight, routes);
  if (!shared_experts_.empty()) {
    torch::Tensor sum;
    for (const auto& s : shared_experts_) sum = sum.defined() ? sum + s->forward(x) : s->forward(x);
    if (shared_expert_gate) sum = torch::sigmoid(shared_expert_gate(x)) * sum;  // (N, 1) gate
    out.y = out.y + sum;
  }
  out.aux_loss = torch::zeros({}, x.options());
  if (config_.balance == "switch" && is_training()) {
    // Switch Transformer: alpha * E * sum_e f_e * P_e, f = routed share, P = mean prob.
    auto f = torch::bincount(out.topk_index.flatten(), {}, config_.expert_count).to(x.dtype()) /
             static_cast<double>(out.topk_index.numel());
    auto P = out.probs.mean(0);
    auto z = torch::logsumexp(out.logits, 1).pow(2).mean();
    out.aux_loss =
        config_.aux_alpha * static_cast<double>(n_avail) * (f * P).sum() + config_.z_loss * z;
  }
  return out;
}

std::pair<torch::Tensor, torch::Tensor> MoECoreImpl::route(const torch::Tensor& probs) {
  auto avail = available_mask();
  const int64_t n_avail = avail.sum().item<int64_t>();
  TORCH_CHECK(n_avail > 0, "MoECore: no available expert (all pruned)");
  auto score = probs;  // aux-loss-free balancing biases the choice, not the weights
  if (config_.balance == "bias")
    score = (probs + balance_bias_.unsqueeze(0)).masked_fill(avail.logical_not(), kMasked);
  return select_topk(probs, score.detach(), std::min(config_.top_k, n_avail),
                     config_.normalize_topk);
}

torch::Tensor MoECoreImpl::dispatch_sparse(const torch::Tensor& x, const torch::Tensor& index,
                                           const torch::Tensor& weight, torch::Tensor* route_out) {
  const int64_t N = index.size(0), k = index.size(1);
  auto flat_e = index.reshape({-1});                                         // (N k)
  auto flat_w = weight.reshape({-1});                                        // (N k)
  auto rows = torch::arange(N, index.options()).repeat_interleave(k);        // (N k)
  auto order = std::get<1>(torch::sort(flat_e, /*stable=*/true, 0, false));  // grouped by e
  auto counts = torch::bincount(flat_e, {}, config_.expert_count).cpu();
  auto c = counts.accessor<int64_t, 1>();
  // One gather of every routed row in expert order, one split into per-expert blocks, one
  // concatenation and one scatter-add back: the op count (and autograd nodes) no longer
  // grows with the number of experts, only the experts' own layers do.
  auto rows_sorted = rows.index_select(0, order);  // (N k) row of each slot
  auto xs = x.index_select(0, rows_sorted);        // (N k, d_model)
  std::vector<int64_t> sizes;
  std::vector<int64_t> ids;
  for (int64_t e = 0; e < config_.expert_count; ++e)
    if (c[e] > 0) {
      sizes.push_back(c[e]);
      ids.push_back(e);
    }
  auto blocks = xs.split_with_sizes(sizes);
  std::vector<torch::Tensor> outs;
  for (size_t i = 0; i < ids.size(); ++i) outs.push_back(run_expert(ids[i], blocks[i]));
  auto o = torch::cat(outs);  // (N k, d_out), expert order
  auto y = torch::zeros({N, o.size(1)}, o.options())
               .index_add(0, rows_sorted, o * flat_w.index_select(0, order).unsqueeze(1));
  if (route_out)
    *route_out = torch::zeros({N * k, o.size(1)}, o.options())
                     .index_copy(0, order, o)
                     .view({N, k, o.size(1)});
  return y;  // (N, d_out)
}

torch::Tensor MoECoreImpl::dispatch_dense(const torch::Tensor& x, const torch::Tensor& index,
                                          const torch::Tensor& weight, torch::Tensor* route_out) {
  // Every available expert on every row, then the (N, E) weight matrix masks all but top-k.
  auto ids = available();
  std::vector<torch::Tensor> outs;
  for (auto e : ids) outs.push_back(run_expert(e, x));
  auto stacked = torch::stack(outs, 1);  // (N, A, d_out)
  auto id_t = torch::tensor(ids, torch::kInt64).to(x.device());
  auto dense = torch::zeros({x.size(0), config_.expert_count}, weight.options())
                   .scatter(1, index, weight)
                   .index_select(1, id_t);  // (N, A)
  if (route_out) {
    auto pos = torch::full({config_.expert_count}, -1, torch::kInt64).to(x.device());
    pos.index_put_({id_t}, torch::arange(static_cast<int64_t>(ids.size()), id_t.options()));
    auto p = pos.index_select(0, index.flatten()).view_as(index);  // (N, k)
    *route_out = stacked.gather(1, p.unsqueeze(2).expand({-1, -1, stacked.size(2)}));
  }
  return torch::einsum("na,nad->nd", {dense, stacked});
}

torch::Tensor MoECoreImpl::compute_gate_weights(const torch::Tensor& x,
                                                const torch::Tensor& gate_in) {
  const auto& g = gate_in.defined() ? gate_in : x;
  torch::Tensor thal, pred;
  auto logits = gate_logits(g, {}, &thal, &pred);
  auto probs = torch::softmax(logits, 1);
  auto [index, weight] = route(probs);
  return torch::zeros_like(probs).scatter(1, index, weight);
}

torch::Tensor MoECoreImpl::expert_output(int64_t e, const torch::Tensor& x) {
  expert(e);  // range check
  return run_expert(e, x);
}

torch::Tensor MoECoreImpl::run_expert(int64_t e, const torch::Tensor& x) {
  auto& ex = *experts_[static_cast<size_t>(e)];
  if (!is_training() || !is_frozen(e)) return ex.forward(x);
  // A frozen expert is a fixed function: it runs in eval mode while the core trains, so its
  // buffers (batch-norm running statistics) stay bit-identical and its dropout is off.
  ex.eval();
  auto y = ex.forward(x);
  ex.train();
  return y;
}

torch::Tensor MoECoreImpl::expert_outputs(const torch::Tensor& x) {
  std::vector<torch::Tensor> outs;
  for (int64_t e = 0; e < active_count(); ++e) outs.push_back(run_expert(e, x));
  return torch::stack(outs);  // (E_active, N, d_out)
}

torch::Tensor MoECoreImpl::distill_loss(const torch::Tensor& x, int64_t teacher, int64_t student,
                                        const torch::Tensor& gate_in) {
  expert(student);  // range checks
  if (teacher >= 0) expert(teacher);
  auto s = run_expert(student, x);
  torch::Tensor t;
  {
    torch::NoGradGuard no_grad;
    if (teacher >= 0) {
      t = run_expert(teacher, x);
    } else {
      // Committee: the gate's top-k ensemble of every available expert but the student.
      const auto& g = gate_in.defined() ? gate_in : x;
      torch::Tensor thal, pred;
      auto avail = available_mask().clone();
      avail[student] = false;
      const int64_t n = avail.sum().item<int64_t>();
      TORCH_CHECK(n > 0, "distill_loss: committee needs another available expert");
      auto logits = gate_logits(g, {}, &thal, &pred).masked_fill(avail.logical_not(), kMasked);
      auto probs = torch::softmax(logits, 1);
      auto [index, weight] =
          select_topk(probs, probs, std::min(config_.top_k, n), config_.normalize_topk);
      t = dispatch_sparse(x, index, weight, nullptr);
    }
  }
  return torch::mse_loss(s, t);
}

void MoECoreImpl::consolidate() {
  torch::NoGradGuard no_grad;
  const int64_t active = active_count();
  for (int64_t e = 0; e < config_.expert_count; ++e) {
    anchors_[e].clear();
    if (e >= active) continue;  // a slot is anchored when growth switches it on
    for (const auto& p : experts_[e]->parameters()) anchors_[e].push_back(p.detach().clone());
  }
}

torch::Tensor MoECoreImpl::emc_penalty(const torch::Tensor& topk_index) {
  auto total = torch::zeros({}, gate->weight.options());
  if (config_.emc_lambda == 0 || anchors_[0].empty()) return total;
  auto share = (torch::bincount(topk_index.flatten(), {}, config_.expert_count).to(torch::kDouble) /
                static_cast<double>(topk_index.numel()))
                   .cpu();
  for (auto e : available()) {
    if (is_frozen(e) || anchors_[e].empty()) continue;
    const double w = 1.0 - share[e].item<double>();
    if (w <= 0) continue;
    auto params = experts_[e]->parameters();
    torch::Tensor drift = torch::zeros({}, total.options());
    for (size_t i = 0; i < params.size(); ++i)
      drift = drift + (params[i] - anchors_[e][i]).pow(2).sum();
    total = total + w * drift;
  }
  return config_.emc_lambda * total;
}

torch::Tensor MoECoreImpl::predictive_loss(const MoEOutput& out,
                                           const torch::Tensor& routed_utility) {
  if (!out.predicted_utility.defined()) return torch::zeros({}, out.y.options());
  auto pred = out.predicted_utility.gather(1, out.topk_index);  // (N, k)
  return torch::mse_loss(pred, routed_utility.to(pred.dtype()).detach());
}

void MoECoreImpl::update_balance_bias(const torch::Tensor& topk_index) {
  torch::NoGradGuard no_grad;
  auto load = torch::bincount(topk_index.flatten(), {}, config_.expert_count).to(torch::kFloat);
  auto avail = available_mask();
  auto mean = load.masked_select(avail).mean();
  auto step = config_.bias_gamma * torch::sign(mean - load);
  balance_bias_.add_(step.masked_fill(avail.logical_not(), 0.0).to(balance_bias_.dtype()));
}

void MoECoreImpl::grow(int64_t n, int64_t teacher, double noise) {
  const int64_t a = active_count();
  if (n < 1 || a + n > config_.expert_count)
    throw UsageError("moe grow: cannot add " + std::to_string(n) + " experts to " +
                     std::to_string(a) +
                     " (capacity moe.expert_count = " + std::to_string(config_.expert_count) + ")");
  if (teacher >= a)
    throw UsageError("moe grow: teacher " + std::to_string(teacher) +
                     " is not an active expert (0 .. " + std::to_string(a - 1) + ")");
  torch::NoGradGuard no_grad;
  for (int64_t s = a; s < a + n; ++s) {
    pruned_[s] = false;
    if (teacher < 0) continue;
    copy_expert(*experts_[teacher], *experts_[s]);
    // The clone inherits the teacher's gate rows, so the gate sends it the teacher's inputs.
    for (auto* lin : {&gate, &thalamic_head, &predictive_head}) {
      if (!*lin) continue;
      (*lin)->weight[s].copy_((*lin)->weight[teacher]);
      (*lin)->bias[s].copy_((*lin)->bias[teacher]);
    }
    balance_bias_[s] = balance_bias_[teacher];
    if (noise > 0) {
      for (auto& p : experts_[s]->parameters()) {
        const double scale = p.numel() > 1 ? p.std().item<double>() : 1.0;
        p.add_(torch::randn_like(p) * (noise * scale));
      }
    }
  }
  // Once consolidation is on, a new expert is anchored where it starts (its clone), not to
  // the random weights its slot held while inactive.
  if (!anchors_[0].empty())
    for (int64_t s = a; s < a + n; ++s) {
      anchors_[s].clear();
      for (const auto& p : experts_[s]->parameters()) anchors_[s].push_back(p.detach().clone());
    }
  active_.fill_(a + n);
}

void MoECoreImpl::set_frozen(int64_t e, bool frozen) {
  expert(e);
  frozen_[e] = frozen;
  for (auto& p : experts_[e]->parameters()) {
    p.set_requires_grad(!frozen);
    if (frozen) p.mutable_grad().reset();
  }
}

bool MoECoreImpl::is_frozen(int64_t e) const { return frozen_[e].item<bool>(); }

void MoECoreImpl::drop_frozen_grads() {
  for (int64_t e = 0; e < config_.expert_count; ++e)
    if (is_frozen(e))
      for (auto& p : experts_[e]->parameters()) p.mutable_grad().reset();
}

void MoECoreImpl::set_pruned(int64_t e, bool pruned) {
  expert(e);
  pruned_[e] = pruned;
}

bool MoECoreImpl::is_pruned(int64_t e) const { return pruned_[e].item<bool>(); }

}  // namespace elarin::nn
