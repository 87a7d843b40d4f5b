// The Elara LM (dense or MoE, recursive depth): token embedding -> n_layer blocks, each
// applied recursion_depth times with the same weights -> RMSNorm -> tied LM head. A block
// is pre-norm: x += attn(norm(x)); x += ffn(norm(x)), where attn is grouped-query causal
// attention with RoPE (optionally scaled, per-head q/k RMSNorm before it as in Qwen3, heads of
// any width) and ffn is a SwiGLU or, on MoE layers, the MoE core with swiglu experts (shared
// + routed, sparse dispatch). Parameter names follow Hugging Face's Llama / Qwen3
// (embed_tokens, layers.N.self_attn.q_proj, self_attn.q_norm, mlp.gate_proj, input_layernorm).
// With a diffusion head, mask blocks after the tokens draft future tokens (MaskBlocks).
// Leaves out decoding (generate.hpp) and training (lm_trainer.hpp).
//
//   elarin::models::ElaraConfig cfg;  // defaults: a tiny char model
//   elarin::models::ElaraModel lm(cfg);
//   torch::Tensor ids = torch::randint(cfg.vocab_size, {2, 16});  // (B, T)
//   auto out = lm->forward(ids);  // out.logits (B, T, V)
//   elarin::models::ElaraKVCache cache;
//   auto prompt = lm->forward(ids.narrow(0, 0, 1), &cache);       // caches keys and values
//   auto step = lm->forward(torch::full({1, 1}, 7, torch::kLong), &cache);  // attends to the past
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <utility>
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

// Mask blocks for the diffusion head (TiDAR's structured attention). Block b holds `len`
// mask positions that see the whole cache, the first prefix[b] tokens of the call and each
// other, never another block; tokens never see masks. Mask i of block b sits at the position
// of token prefix[b] + ahead + i (counted from the call's first token) and predicts that
// token. Decoding uses ahead = 1: the token right after the prefix is the AR head's to decide.
struct MaskBlocks {
  std::vector<int64_t> prefix;  // per block: 1 .. T tokens of the call it sees
  int64_t len = 0;              // masks per block
  int64_t ahead = 1;            // positions skipped between the prefix and the first mask
  int64_t count() const { return static_cast<int64_t>(prefix.size()) * len; }
};

// Where each input of a call sits and what it sees, for T tokens after `past` cached inputs
// and then the mask blocks. Input q has RoPE position pos[q] and sees the keys (cache slots)
// 0 .. upto[q]-1 and own_begin[q] .. own_end[q]-1 (a mask's own block; empty for tokens).
// Both the model's attention bias and ElaraDecoder's kernel read this one rule.
struct MaskVisibility {
  std::vector<int64_t> pos, upto, own_begin, own_end;
  int64_t end = 0;  // 1 + the largest position
  static MaskVisibility of(int64_t past, int64_t T, const MaskBlocks* blocks);
};

// A forward's positions and visibility when it is not plain causal (mask blocks).
struct AttentionLayout {
  torch::Tensor positions;  // (N) int64 absolute position of each input (RoPE)
  torch::Tensor bias;       // (N, S_past + N) float 0 where a query may look, -inf elsewhere
  int64_t end = 0;          // 1 + the largest position
};

class ElaraAttentionImpl : public torch::nn::Module {
 public:
  explicit ElaraAttentionImpl(const ElaraConfig& cfg);
  // x (B, T, C) at positions offset .. offset+T-1; with key/value defined (B, H_kv, T_past, D)
  // attends to them too and replaces them with the extended ones.
  // With a layout, positions and visibility come from it instead (offset is unused).
  torch::Tensor forward(const torch::Tensor& x, int64_t offset, torch::Tensor* key = nullptr,
                        torch::Tensor* value = nullptr, const AttentionLayout* layout = nullptr);
  // The same with plain tensor ops: separate projections, RoPE, masked softmax. forward
  // takes the fused kernel (nn/fused_causal_attention.hpp) when there is no cache, no
  // layout, no attention dropout and the tensors are float32 on CPU.
  torch::Tensor reference(const torch::Tensor& x, int64_t offset, torch::Tensor* key = nullptr,
                          torch::Tensor* value = nullptr, const AttentionLayout* layout = nullptr);
  // The fused projection (..., (H + 2 H_kv) D), laid out [q heads | k heads | v heads], with
  // each q and k head RMS-normed (qk_norm); returned as is without q_norm.
  torch::Tensor norm_qk(const torch::Tensor& qkv);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  nn::RMSNorm q_norm{nullptr}, k_norm{nullptr};  // (D) gains, only with qk_norm

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
                        torch::Tensor* value, torch::Tensor* aux,
                        const AttentionLayout* layout = nullptr);
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
  torch::Tensor draft_logits;  // (B, blocks.count(), V) the diffusion head at the masks
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
  // diffusion head, mask blocks may follow the tokens (in the input and in the cache, block
  // by block); the head predicts each mask position's own token: out.draft_logits.
  ElaraOutput forward(const torch::Tensor& ids, ElaraKVCache* cache = nullptr,
                      bool keep_hidden_states = false, const MaskBlocks* blocks = nullptr);
  // The positions and visibility of T tokens after `past` cached ones, then the blocks.
  static AttentionLayout layout(int64_t past, int64_t T, const MaskBlocks& blocks);
  // Final-norm hidden states (B, T, C) -> logits (B, T, V) through the (tied) head.
  torch::Tensor head(const torch::Tensor& hidden);

  const ElaraConfig& config() const { return config_; }
  int64_t parameter_count() const;
  // Parameters a token uses: dense parts + shared experts + top_k routed experts per layer.
  int64_t active_parameter_count() const;
  // Both counts for a config without building the model: one block of each kind is built
  // and multiplied out (so a 2.8B config is counted in a few hundred MB).
  static std::pair<int64_t, int64_t> count_parameters(const ElaraConfig& cfg);  // total, active

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
