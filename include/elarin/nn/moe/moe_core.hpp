// The Bio-MoE core (the seed's EnhancedSpikingRetrievalCore): experts from the registry, a
// softmax gate with temperature, additive biases (caller, thalamic, predictive, balance),
// hierarchical group gating, top-k routing with renormalised weights, always-on shared
// experts, sparse (grouped) or dense dispatch, growth / freezing / pruning masks, Switch or
// aux-loss-free load balancing, EMC soft-freeze and distillation losses. Capacity is fixed at
// construction (`expert_count`); growth activates preallocated slots, so existing experts are
// never reinitialised. Leaves out the growth policy (growth.hpp) and bandits (merit_board.hpp).
//
//   elarin::nn::MoEConfig cfg;
//   cfg.d_model = 64;  cfg.d_out = 64;  cfg.expert_count = 8;  cfg.active_experts = 8;
//   elarin::nn::MoECore core(cfg);
//   torch::Tensor x = torch::randn({32, 64});
//   elarin::nn::MoEOutput out = core->forward(x);  // out.y (N, 64), out.topk_index (N, k)
//   torch::Tensor task_loss = out.y.pow(2).mean();
//   auto loss = task_loss + out.aux_loss;  // Switch aux + z-loss (balance = "switch")
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "elarin/core/config.hpp"
#include "elarin/nn/moe/expert.hpp"

namespace elarin::nn {

struct MoEConfig {
  std::string expert_type = "mlp";
  int64_t d_model = 256;
  int64_t d_out = 256;
  int64_t gate_dim = 0;
  int64_t expert_hidden = 256;
  int64_t expert_channels = 1;
  double expert_dropout = 0.0;
  bool expert_norm = false;
  int64_t expert_count = 8;
  int64_t active_experts = 8;
  int64_t shared_experts = 0;
  int64_t shared_hidden = 0;
  bool shared_gate = false;
  bool normalize_topk = true;
  int64_t top_k = 2;
  double temperature = 1.0;
  int64_t group_count = 1;
  double thalamic_scale = 0.0;
  double predictive_weight = 0.0;
  double emc_lambda = 0.0;
  std::string balance = "switch";
  double aux_alpha = 1e-2;
  double z_loss = 1e-3;
  double bias_gamma = 1e-3;
  std::string dispatch = "sparse";

  template <class V>
  void visit(V& v) {
    v("expert_type", expert_type, "expert registry name: mlp | conv1d | conv2d");
    v("d_model", d_model, "expert input width (a row)", at_least(1));
    v("d_out", d_out, "expert output width", at_least(1));
    v("gate_dim", gate_dim, "gate input width; 0 = d_model (the gate sees the expert input)",
      at_least(0));
    v("expert_hidden", expert_hidden, "mlp hidden units / conv channels inside an expert");
    v("expert_channels", expert_channels, "conv experts: C of the (C, L) / (C, H, W) row view");
    v("expert_dropout", expert_dropout, "dropout inside experts", in_range(0, 1).open_high());
    v("expert_norm", expert_norm, "normalise inside experts: BatchNorm (conv) / LayerNorm (mlp)");
    v("expert_count", expert_count, "routed expert slots (capacity for growth)", at_least(1));
    v("active_experts", active_experts,
      "live experts at start (growth raises it; at most "
      "expert_count)",
      at_least(1));
    v("shared_experts", shared_experts, "always-on experts added to every row (DeepSeekMoE)",
      at_least(0));
    v("shared_hidden", shared_hidden, "shared experts' hidden width; 0 = expert_hidden",
      at_least(0));
    v("shared_gate", shared_gate,
      "sigmoid(Linear(d_model, 1)) per row scales the shared experts' sum (Qwen2-MoE)");
    v("normalize_topk", normalize_topk, "renormalise the top-k gate weights to sum 1");
    v("top_k", top_k, "routed experts per row", at_least(1));
    v("temperature", temperature, "gate softmax temperature", greater_than(0));
    v("group_count", group_count, "hierarchical gate groups (1 = flat; at most expert_count)",
      at_least(1));
    v("thalamic_scale", thalamic_scale, "weight of the thalamic top-down bias on gate logits");
    v("predictive_weight", predictive_weight,
      "weight of the predicted-utility bias on gate logits");
    v("emc_lambda", emc_lambda, "EMC soft-freeze penalty on non-selected experts", at_least(0));
    v("balance", balance, "load balancing: switch (aux + z-loss) | bias (aux-loss-free) | none",
      one_of({"switch", "bias", "none"}));
    v("aux_alpha", aux_alpha, "Switch load-balancing loss weight");
    v("z_loss", z_loss, "router z-loss weight");
    v("bias_gamma", bias_gamma, "aux-loss-free balance bias step (DeepSeek-V3)");
    v("dispatch", dispatch, "sparse (grouped rows per expert) | dense (all, masked)",
      one_of({"sparse", "dense"}));
  }
  // UsageError naming the first bad key and value.
  void validate() const;
  // The spec every routed and shared expert of this core is built from.
  ExpertSpec expert_spec() const;
};

// Per-call gate controls (PersonalityEngine, MeritBoard); empty tensors mean none.
struct GateControl {
  torch::Tensor bias;        // (E,) additive logit bias
  double temperature = 0.0;  // > 0 replaces the config's temperature
  torch::Tensor context;     // (N, gate_dim) thalamic top-down context; default: gate input
  bool keep_routes = false;  // fill MoEOutput::route_out
};

struct MoEOutput {
  torch::Tensor y;                  // (N, d_out) shared + gate-weighted routed outputs
  torch::Tensor logits;             // (N, E) gate logits, -inf where unavailable
  torch::Tensor probs;              // (N, E) gate probabilities
  torch::Tensor topk_index;         // (N, k) int64 routed experts
  torch::Tensor topk_weight;        // (N, k) weights (rows sum to 1 when normalize_topk)
  torch::Tensor aux_loss;           // scalar: Switch aux + z-loss (0 when balance != switch)
  torch::Tensor thalamic;           // (N, E) top-down bias added to logits (zeros if off)
  torch::Tensor predicted_utility;  // (N, E) predictive head in [0, 1] (undefined if off)
  torch::Tensor route_out;          // (N, k, d_out) each routed expert's output (keep_routes)
};

class MoECoreImpl : public torch::nn::Module {
 public:
  explicit MoECoreImpl(const MoEConfig& config);

  // x (N, d_model), gate_in (N, gate_dim) or undefined = x.
  MoEOutput forward(const torch::Tensor& x, const torch::Tensor& gate_in = {},
                    const GateControl& control = {});
  // Dense (N, E) routing weights actually used: top-k renormalised, zero elsewhere.
  torch::Tensor compute_gate_weights(const torch::Tensor& x, const torch::Tensor& gate_in = {});
  // (E_active, N, d_out): every active expert on every row (analysis, distillation).
  torch::Tensor expert_outputs(const torch::Tensor& x);
  torch::Tensor expert_output(int64_t e, const torch::Tensor& x);  // (N, d_out)
  // MSE between expert `student`'s output and `teacher`'s (detached) on x. teacher < 0:
  // the committee (gate-weighted top-k ensemble of the other experts) is the teacher.
  torch::Tensor distill_loss(const torch::Tensor& x, int64_t teacher, int64_t student,
                             const torch::Tensor& gate_in = {});
  // EMC: emc_lambda * sum over unfrozen experts of (1 - routed share) * ||theta - anchor||^2;
  // zero until consolidate() stored anchors.
  torch::Tensor emc_penalty(const torch::Tensor& topk_index);
  void consolidate();  // anchors := current expert weights
  // Predictive head loss: masked MSE of predicted utility against observed utility (N, k)
  // (e.g. 1 if the routed expert alone classified the row right).
  torch::Tensor predictive_loss(const MoEOutput& out, const torch::Tensor& routed_utility);
  // Aux-loss-free balancing: bias += gamma * sign(mean load - load) over available experts.
  void update_balance_bias(const torch::Tensor& topk_index);

  // Masks. Growth activates slots [active, active + n); a slot may copy a teacher (+ noise).
  int64_t active_count() const;
  int64_t capacity() const { return config_.expert_count; }
  void grow(int64_t n, int64_t teacher = -1, double noise = 0.0);
  void set_frozen(int64_t e, bool frozen);  // frozen: requires_grad off, grads dropped
  bool is_frozen(int64_t e) const;
  void drop_frozen_grads();  // call before optimizer.step()
  void set_pruned(int64_t e, bool pruned);
  bool is_pruned(int64_t e) const;
  torch::Tensor available_mask() const;  // (E,) bool: active and not pruned
  std::vector<int64_t> available() const;

  const MoEConfig& config() const { return config_; }
  const std::vector<ExpertPtr>& experts() const { return experts_; }
  ExpertPtr expert(int64_t e) const;
  int64_t expert_parameter_count(int64_t e) const;

  torch::nn::Linear gate{nullptr}, group_gate{nullptr}, thalamic_head{nullptr},
      predictive_head{nullptr}, shared_expert_gate{nullptr};
  torch::nn::ModuleList routed{nullptr}, shared{nullptr};

 private:
  // Top-k routing over the available experts: (index, renormalised weight), both (N, k).
  std::pair<torch::Tensor, torch::Tensor> route(const torch::Tensor& probs);
  torch::Tensor gate_logits(const torch::Tensor& g, const GateControl& control,
                            torch::Tensor* thalamic, torch::Tensor* predicted);
  torch::Tensor dispatch_sparse(const torch::Tensor& x, const torch::Tensor& index,
                                const torch::Tensor& weight, torch::Tensor* route_out);
  torch::Tensor dispatch_dense(const torch::Tensor& x, const torch::Tensor& index,
                               const torch::Tensor& weight, torch::Tensor* route_out);

  MoEConfig config_;
  std::vector<ExpertPtr> experts_, shared_experts_;
  torch::Tensor run_expert(int64_t e, const torch::Tensor& x);        // eval mode if frozen
  torch::Tensor active_, pruned_, frozen_, balance_bias_, group_of_;  // buffers
  std::vector<std::vector<torch::Tensor>> anchors_;                   // EMC, per expert
};
TORCH_MODULE(MoECore);

}  // namespace elarin::nn
