// The Elara LM's architecture config (the seed's GPTConfig, bound under `lm.model.*`):
// sizes, grouped-query heads, MoE placement and experts, recursive depth, diffusion head.
// Leaves out training settings (lm.train.*).
//
//   elarin::models::ElaraConfig c;   // defaults: a tiny char model
//   c.n_layer = 4; c.validate();     // UsageError naming lm.model.<key> on a bad value
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "elarin/core/config.hpp"

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
  double norm_eps = 1e-5;
  int64_t expert_count = 0;
  int64_t shared_expert_count = 1;
  int64_t moe_top_k = 2;
  int64_t moe_every = 2;
  int64_t expert_hidden = 0;
  int64_t recursion_depth = 1;
  bool use_diffusion_head = false;
  int64_t draft_len = 3;
  // Hugging Face compatibility (Llama, Qwen2-MoE); the defaults are the seed's choices.
  bool tie_embeddings = true;
  bool qkv_bias = false;
  int64_t shared_expert_hidden = 0;
  bool shared_expert_gate = false;
  bool norm_topk_prob = true;
  std::vector<int64_t> dense_layers;

  template <class V>
  void visit(V& v) {
    v("block_size", block_size, "longest context in tokens", at_least(1));
    v("vocab_size", vocab_size, "vocabulary size: token ids 0 .. vocab_size - 1", at_least(2));
    v("n_layer", n_layer, "physical transformer blocks", at_least(1));
    v("n_head", n_head, "query heads; n_embd / n_head must be even (RoPE)", at_least(1));
    v("n_kv_head", n_kv_head, "key/value heads (GQA), a divisor of n_head; 0 = n_head",
      at_least(0));
    v("n_embd", n_embd, "residual width, a multiple of n_head", at_least(1));
    v("ffn_hidden", ffn_hidden, "SwiGLU hidden width; 0 = 8/3 n_embd, rounded up to 32",
      at_least(0));
    v("dropout", dropout, "residual and attention dropout while training",
      in_range(0, 1).open_high());
    v("bias", bias, "biases in all linear layers");
    v("rope_theta", rope_theta, "RoPE base", greater_than(0));
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
    v("shared_expert_hidden", shared_expert_hidden, "shared expert width; 0 = expert_hidden",
      at_least(0));
    v("shared_expert_gate", shared_expert_gate, "sigmoid gate on the shared expert (Qwen2-MoE)");
    v("norm_topk_prob", norm_topk_prob, "renormalise the top-k routing weights to sum 1");
    v("dense_layers", dense_layers,
      "layer indices kept dense although MoE by moe_every (Qwen2-MoE mlp_only_layers)",
      at_least(0));
  }
  void validate() const;  // UsageError naming lm.model.<key>

  int64_t head_dim() const { return n_embd / n_head; }
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
