// The Elara LM's architecture config (the seed's GPTConfig, bound under `lm.model.*`):
// sizes, grouped-query heads, RoPE scaling, MoE placement and experts, recursive depth,
// diffusion head. Leaves out training settings (lm.train.*).
//
//   elarin::models::ElaraConfig c;   // defaults: a tiny char model
//   c.n_layer = 4; c.validate();     // UsageError naming lm.model.<key> on a bad value
//   c.head_size = 64;  c.qk_norm = true;  // Qwen3-style heads: n_head * 64 need not be n_embd
//   c.rope_scaling.type = "linear";  c.rope_scaling.factor = 2;  // lm.model.rope_scaling.*
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "elarin/core/config.hpp"
#include "elarin/nn/rope_scaling.hpp"

namespace elarin::models {

struct ElaraConfig {
  int64_t block_size = 64;
  int64_t vocab_size = 65;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_kv_head = 0;
  int64_t n_embd = 128;
  int64_t ffn_hidden = 0;
  double dropout = 0.0;
  bool bias = false;
  double rope_theta = 10000.0;
  nn::RopeScaling rope_scaling;  // default: plain RoPE
  double norm_eps = 1e-5;
  int64_t expert_count = 0;
  int64_t shared_expert_count = 1;
  int64_t moe_top_k = 2;
  int64_t moe_every = 2;
  int64_t expert_hidden = 0;
  int64_t recursion_depth = 1;
  bool use_diffusion_head = false;
  int64_t draft_len = 3;
  // Hugging Face compatibility (Llama, Qwen2, Qwen3, their MoEs); the defaults are the seed's.
  bool tie_embeddings = true;
  bool qkv_bias = false;
  bool attention_bias = false;
  int64_t head_size = 0;
  bool qk_norm = false;
  int64_t shared_expert_hidden = 0;
  bool shared_expert_gate = false;
  bool norm_topk_prob = true;
  std::vector<int64_t> dense_layers;

  template <class V>
  void visit(V& v) {
    v("block_size", block_size, "longest context in tokens", at_least(1));
    v("vocab_size", vocab_size, "vocabulary size: token ids 0 .. vocab_size - 1", at_least(2));
    v("n_layer", n_layer, "physical transformer blocks", at_least(1));
    v("n_head", n_head, "query heads; the head width (head_size or n_embd / n_head) must be even",
      at_least(1));
    v("n_kv_head", n_kv_head, "key/value heads (GQA), a divisor of n_head; 0 = n_head",
      at_least(0));
    v("n_embd", n_embd, "residual width, a multiple of n_head unless head_size is set",
      at_least(1));
    v("ffn_hidden", ffn_hidden, "SwiGLU hidden width; 0 = 8/3 n_embd, rounded up to 32",
      at_least(0));
    v("dropout", dropout, "residual and attention dropout while training",
      in_range(0, 1).open_high());
    v("bias", bias, "biases in all linear layers");
    v("rope_theta", rope_theta, "RoPE base", greater_than(0));
    auto rope = [&v](const std::string& key, auto& field, const std::string& doc,
                     const Constraint& c = Constraint()) {
      v("rope_scaling." + key, field, doc, c);
    };
    rope_scaling.visit(rope);
    v("norm_eps", norm_eps, "RMSNorm epsilon", greater_than(0));
    v("expert_count", expert_count, "routed experts per MoE layer; 0 = dense model", at_least(0));
    v("shared_expert_count", shared_expert_count, "always-on experts per MoE layer", at_least(0));
    v("moe_top_k", moe_top_k, "routed experts per token (at most expert_count)", at_least(1));
    v("moe_every", moe_every, "layer i is MoE when i % moe_every == moe_every - 1", at_least(1));
    v("expert_hidden", expert_hidden, "routed/shared expert SwiGLU width; 0 = ffn_hidden",
      at_least(0));
    v("recursion_depth", recursion_depth, "applications of each block (same weights)", at_least(1));
    v("use_diffusion_head", use_diffusion_head,
      "train a masked-future drafting head (draft-and-verify)");
    v("draft_len", draft_len,
      "tokens the diffusion head drafts per pass (blocks of draft_len + 1 masks)", at_least(1));
    v("tie_embeddings", tie_embeddings, "the LM head is the embedding matrix; false: own lm_head");
    v("qkv_bias", qkv_bias, "biases on the q/k/v projections only (Qwen2); `bias` sets all");
    v("attention_bias", attention_bias,
      "biases on the q/k/v/o projections (Llama, Qwen3 attention_bias); `bias` sets all");
    v("head_size", head_size,
      "q/k/v width per head; 0 = n_embd / n_head (Qwen3: 128 whatever n_embd)", at_least(0));
    v("qk_norm", qk_norm, "RMSNorm over each q and k head before RoPE (Qwen3)");
    v("shared_expert_hidden", shared_expert_hidden, "shared expert width; 0 = expert_hidden",
      at_least(0));
    v("shared_expert_gate", shared_expert_gate, "sigmoid gate on the shared expert (Qwen2-MoE)");
    v("norm_topk_prob", norm_topk_prob, "renormalise the top-k routing weights to sum 1");
    v("dense_layers", dense_layers,
      "layer indices kept dense although MoE by moe_every (Qwen2-MoE mlp_only_layers)",
      at_least(0));
  }
  void validate() const;  // UsageError naming lm.model.<key>

  int64_t head_dim() const { return head_size > 0 ? head_size : n_embd / n_head; }
  int64_t attn_width() const { return n_head * head_dim(); }  // q_proj's output, o_proj's input
  int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int64_t ffn_width() const {
    return ffn_hidden > 0 ? ffn_hidden : (8 * n_embd / 3 + 31) / 32 * 32;
  }
  bool is_moe_layer(int64_t i) const {
    if (expert_count == 0 || i % moe_every != moe_every - 1) return false;
    for (int64_t d : dense_layers)
      if (d == i) return false;
    return true;
  }
};

}  // namespace elarin::models
