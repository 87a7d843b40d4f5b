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

namespace elarin::models {

struct ElaraConfig {
  int64_t block_size = 64;          // longest context in tokens
  int64_t vocab_size = 65;          // token ids 0 .. vocab_size - 1
  int64_t n_layer = 4;              // physical blocks
  int64_t n_head = 4;               // query heads; n_embd % n_head == 0
  int64_t n_kv_head = 0;            // key/value heads (GQA); 0 = n_head; divides n_head
  int64_t n_embd = 128;             // residual width
  int64_t ffn_hidden = 0;           // SwiGLU width; 0 = 8/3 n_embd rounded up to 32
  double dropout = 0.0;             // residual and attention dropout while training
  bool bias = false;                // biases in the linear layers
  double rope_theta = 10000.0;      // RoPE base
  double norm_eps = 1e-5;           // RMSNorm epsilon
  int64_t num_experts = 0;          // routed experts in MoE layers; 0 = dense model
  int64_t num_shared_experts = 1;   // always-on experts in MoE layers
  int64_t moe_top_k = 2;            // routed experts per token
  int64_t moe_every = 2;            // layer i is MoE when i % moe_every == moe_every - 1
  int64_t expert_hidden = 0;        // routed/shared expert width; 0 = ffn_hidden
  int64_t recursion_depth = 1;      // each block applied this many times, same weights
  bool use_diffusion_head = false;  // masked-future drafting head (draft-and-verify)
  int64_t draft_len = 3;            // tokens drafted per pass (blocks of draft_len + 1 masks)
  // Hugging Face compatibility (Llama, Qwen2-MoE); the defaults are the seed's choices.
  bool tie_embeddings = true;         // LM head = embedding matrix; false: own lm_head
  bool qkv_bias = false;              // biases on q/k/v only (Qwen2); `bias` sets all linears
  int64_t shared_expert_hidden = 0;   // shared expert width; 0 = expert_hidden
  bool shared_expert_gate = false;    // sigmoid gate on the shared expert (Qwen2-MoE)
  bool norm_topk_prob = true;         // renormalise the top-k routing weights
  std::vector<int64_t> dense_layers;  // layers kept dense although MoE by moe_every

  template <class V>
  void visit(V& v) {
    v("block_size", block_size, "longest context in tokens");
    v("vocab_size", vocab_size, "vocabulary size");
    v("n_layer", n_layer, "physical transformer blocks");
    v("n_head", n_head, "query heads");
    v("n_kv_head", n_kv_head, "key/value heads (0 = n_head)");
    v("n_embd", n_embd, "residual width");
    v("ffn_hidden", ffn_hidden, "SwiGLU hidden width (0 = 8/3 n_embd, rounded up to 32)");
    v("dropout", dropout, "dropout while training");
    v("bias", bias, "biases in linear layers");
    v("rope_theta", rope_theta, "RoPE base");
    v("norm_eps", norm_eps, "RMSNorm epsilon");
    v("num_experts", num_experts, "routed experts per MoE layer (0 = dense)");
    v("num_shared_experts", num_shared_experts, "always-on experts per MoE layer");
    v("moe_top_k", moe_top_k, "routed experts per token");
    v("moe_every", moe_every, "every n-th layer is MoE");
    v("expert_hidden", expert_hidden, "expert SwiGLU width (0 = ffn_hidden)");
    v("recursion_depth", recursion_depth, "applications of each block (same weights)");
    v("use_diffusion_head", use_diffusion_head, "train a masked-future drafting head");
    v("draft_len", draft_len, "tokens the diffusion head drafts per pass");
    v("tie_embeddings", tie_embeddings, "LM head shares the embedding matrix");
    v("qkv_bias", qkv_bias, "biases on the q/k/v projections (Qwen2)");
    v("shared_expert_hidden", shared_expert_hidden, "shared expert width (0 = expert_hidden)");
    v("shared_expert_gate", shared_expert_gate, "sigmoid gate on the shared expert (Qwen2-MoE)");
    v("norm_topk_prob", norm_topk_prob, "renormalise top-k routing weights to sum 1");
    v("dense_layers", dense_layers, "layer indices kept dense (Qwen2-MoE mlp_only_layers)");
  }
  void validate() const;  // UsageError naming lm.model.<key>

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int64_t ffn_width() const {
    return ffn_hidden > 0 ? ffn_hidden : (8 * n_embd / 3 + 31) / 32 * 32;
  }
  bool is_moe_layer(int64_t i) const {
    if (num_experts == 0 || i % moe_every != moe_every - 1) return false;
    for (int64_t d : dense_layers)
      if (d == i) return false;
    return true;
  }
};

}  // namespace elarin::models
