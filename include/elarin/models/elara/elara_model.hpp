// The Elara LM (dense or MoE, recursive depth): token embedding -> n_layer blocks, each
// applied recursion_depth times with the same weights -> RMSNorm -> tied LM head. A block
// is pre-norm: x += attn(norm(x)); x += ffn(norm(x)), where attn is grouped-query causal
// attention with RoPE and ffn is a SwiGLU or, on MoE layers, the MoE core with swiglu
// experts (shared + routed, sparse dispatch). Parameter names follow Hugging Face's Llama
// (embed_tokens, layers.N.self_attn.q_proj, mlp.gate_proj, input_layernorm, norm).
// Leaves out the diffusion head and decoding (their own files), and training.
//
//   elarin::models::ElaraModel lm(cfg);
//   auto out = lm->forward(ids);                 // ids (B, T) -> out.logits (B, T, V)
//   elarin::models::ElaraKVCache cache;
//   auto step = lm->forward(next_ids, &cache);   // appends keys/values, attends to the past
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "elarin/models/elara/elara_config.hpp"
#include "elarin/nn/moe/moe_core.hpp"
#include "elarin/nn/rms_norm.hpp"
#include "elarin/nn/rotary.hpp"
#include "elarin/nn/swiglu.hpp"

namespace elarin::models {

// Keys and values of every block application (layer x recursion step) seen so far.
struct ElaraKVCache {
  std::vector<torch::Tensor> key, value;  // per application: (B, H_kv, T_past, D)
  int64_t length() const { return key.empty() || !key[0].defined() ? 0 : key[0].size(2); }
  // Keeps the first `n` positions (drops rejected drafts and mask positions).
  void truncate(int64_t n) {
    for (auto* v : {&key, &value})
      for (auto& t : *v)
        if (t.defined() && t.size(2) > n) t = t.narrow(2, 0, n);
  }
  void clear() {
    key.clear();
    value.clear();
  }
};

class ElaraAttentionImpl : public torch::nn::Module {
 public:
  explicit ElaraAttentionImpl(const ElaraConfig& cfg);
  // x (B, T, C) at positions offset .. offset+T-1; with key/value defined (B, H_kv, T_past, D)
  // attends to them too and replaces them with the extended ones.
  torch::Tensor forward(const torch::Tensor& x, int64_t offset, torch::Tensor* key = nullptr,
                        torch::Tensor* value = nullptr);
  // The same with plain tensor ops: separate projections, RoPE, masked softmax. forward
  // takes the fused kernel (nn/fused_causal_attention.hpp) when there is no cache, no
  // attention dropout and the tensors are float32 on CPU.
  torch::Tensor reference(const torch::Tensor& x, int64_t offset, torch::Tensor* key = nullptr,
                          torch::Tensor* value = nullptr);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t n_head_, n_kv_head_, head_dim_;
  double dropout_;
  nn::Rotary rope_;
};
TORCH_MODULE(ElaraAttention);

class ElaraBlockImpl : public torch::nn::Module {
 public:
  ElaraBlockImpl(const ElaraConfig& cfg, int64_t layer_index);
  // x (B, T, C) -> (B, T, C); adds the MoE balance loss to *aux when this is an MoE layer.
  torch::Tensor forward(const torch::Tensor& x, int64_t offset, torch::Tensor* key,
                        torch::Tensor* value, torch::Tensor* aux);
  bool is_moe() const { return static_cast<bool>(moe); }

  nn::RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  ElaraAttention self_attn{nullptr};
  nn::SwiGLU mlp{nullptr};   // dense layers
  nn::MoECore moe{nullptr};  // MoE layers

 private:
  double dropout_;
};
TORCH_MODULE(ElaraBlock);

struct ElaraOutput {
  torch::Tensor logits;        // (B, T, V) the AR head at the token positions
  torch::Tensor draft_logits;  // (B, n_mask, V) the diffusion head at the mask positions
  torch::Tensor hidden;    // (B, T, C) after the final norm
  torch::Tensor aux_loss;  // () summed MoE balance losses (0 for a dense model)
  // With keep_hidden_states: the embeddings, then each block application's output, the last
  // replaced by the final-norm output (Hugging Face's output_hidden_states convention).
  std::vector<torch::Tensor> hidden_states;
};

class ElaraModelImpl : public torch::nn::Module {
 public:
  explicit ElaraModelImpl(const ElaraConfig& cfg);
  // ids (B, T) int64; with a cache, continues after cache->length() positions. With a
  // diffusion head, n_mask mask positions follow the tokens (attending to them causally) and
  // the head predicts each mask position's own token: out.draft_logits.
  ElaraOutput forward(const torch::Tensor& ids, ElaraKVCache* cache = nullptr,
                      bool keep_hidden_states = false, int64_t n_mask = 0);
  // Final-norm hidden states (B, T, C) -> logits (B, T, V) through the (tied) head.
  torch::Tensor head(const torch::Tensor& hidden);

  const ElaraConfig& config() const { return config_; }
  int64_t parameter_count() const;
  // Parameters a token uses: dense parts + shared experts + top_k routed experts per layer.
  int64_t active_parameter_count() const;

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  nn::RMSNorm norm{nullptr};
  torch::nn::Linear lm_head{nullptr};  // only when !tie_embeddings
  torch::Tensor mask_embed;                 // (C) input at mask positions (diffusion head)
  torch::nn::Linear draft_proj{nullptr};    // diffusion head: hidden -> head input

 private:
  ElaraConfig config_;
  std::vector<ElaraBlock> blocks_;
};
TORCH_MODULE(ElaraModel);

}  // namespace elarin::models
