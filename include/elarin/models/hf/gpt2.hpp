// GPT-2 as in Hugging Face's modeling_gpt2.py (GPT2LMHeadModel, tied LM head), with a KV cache
// for greedy generation; `elarin encode` reads its hidden states (any block) and their mean.
// Leaves out: dropout (inference only), cross-attention, sampling strategies.
//
//   auto model = elarin::load_gpt2_lm_head_model("fixtures/gpt2-tiny");
//   torch::Tensor ids = torch::randint(model->config().vocab_size, {1, 8});  // (B, T)
//   torch::Tensor logits = model->forward(ids);           // (B, T, V)
//   auto out = model->forward_full(ids);                  // + hidden states
//   torch::Tensor seq = model->greedy_generate(ids, 16);  // (1, T0 + 16)
#pragma once

#include "elarin/models/hf/hf_config.hpp"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace elarin {

class HfModel;
struct HfArchitecture;  // loader.hpp

// config.json of a GPT-2 checkpoint; defaults are Hugging Face's GPT2Config defaults.
struct GPT2Config {
  int64_t vocab_size = 50257;                    // token ids are 0..vocab_size-1
  int64_t n_positions = 1024;                    // longest sequence (prompt + generated)
  int64_t n_embd = 768;                          // C, the residual width
  int64_t n_layer = 12;                          // blocks
  int64_t n_head = 12;                           // attention heads; n_embd % n_head == 0
  int64_t n_inner = 0;                           // MLP width; 0 (HF null) = 4 * n_embd
  std::string activation_function = "gelu_new";  // a name of activation_names()
  double layer_norm_epsilon = 1e-5;
  bool scale_attn_weights = true;                // scores / sqrt(head_dim)
  bool scale_attn_by_inverse_layer_idx = false;  // scores / (layer index + 1) as well
  bool tie_word_embeddings = true;               // lm_head = wte (no lm_head.weight)

  static GPT2Config from_hf(const HfConfig& cfg);
  int64_t inner_size() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  void validate() const;  // UsageError naming the bad field
};

// Per-block attention keys and values seen so far; grows with every cached forward.
struct GPT2KVCache {
  std::vector<torch::Tensor> key;    // per block: (B, H, T_past, D)
  std::vector<torch::Tensor> value;  // per block: (B, H, T_past, D)
  int64_t length() const { return key.empty() || !key[0].defined() ? 0 : key[0].size(2); }
};

// HF's Conv1D: a linear layer whose weight is stored (in, out); y = x W + b.
class Conv1DImpl : public torch::nn::Module {
 public:
  Conv1DImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);  // (..., in) -> (..., out)

  torch::Tensor weight;  // (in, out)
  torch::Tensor bias;    // (out)
};
TORCH_MODULE(Conv1D);

class GPT2AttentionImpl : public torch::nn::Module {
 public:
  GPT2AttentionImpl(const GPT2Config& cfg, int64_t layer_index);
  // x (B, T, C); with `key`/`value` (B, H, T_past, D) defined, attends to them too and
  // replaces them with the extended ones.
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* key = nullptr,
                        torch::Tensor* value = nullptr);

  Conv1D c_attn{nullptr};  // C -> 3C (q, k, v)
  Conv1D c_proj{nullptr};  // C -> C

 private:
  int64_t n_head_;
  double scale_;
};
TORCH_MODULE(GPT2Attention);

class GPT2MLPImpl : public torch::nn::Module {
 public:
  explicit GPT2MLPImpl(const GPT2Config& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C)

  Conv1D c_fc{nullptr};    // C -> inner
  Conv1D c_proj{nullptr};  // inner -> C

 private:
  Activation act_;
};
TORCH_MODULE(GPT2MLP);

class GPT2BlockImpl : public torch::nn::Module {
 public:
  GPT2BlockImpl(const GPT2Config& cfg, int64_t layer_index);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* key = nullptr,
                        torch::Tensor* value = nullptr);  // (B, T, C), pre-LN residual

  torch::nn::LayerNorm ln_1{nullptr};
  GPT2Attention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  GPT2MLP mlp{nullptr};
};
TORCH_MODULE(GPT2Block);

struct GPT2ModelOutput {
  torch::Tensor last;                 // (B, T, C): final hidden state (after ln_f when all blocks ran)
  std::vector<torch::Tensor> hidden;  // when asked: hidden_0 (embeddings) .. hidden_N, each (B, T, C)
};

// HF's GPT2Model ("transformer." in an LM-head file). `block_count` < n_layer builds only the
// first blocks; ln_f then stays unused (HF's hidden_states[i] has no ln_f for i < n_layer).
class GPT2ModelImpl : public torch::nn::Module {
 public:
  explicit GPT2ModelImpl(const GPT2Config& cfg, int64_t block_count = -1);
  // ids (B, T) int64. With `cache`, positions start at cache->length() and the cache grows.
  GPT2ModelOutput forward(const torch::Tensor& ids, GPT2KVCache* cache = nullptr,
                          bool keep_hidden = false);

  const GPT2Config& config() const { return cfg_; }
  int64_t block_count() const { return static_cast<int64_t>(h->size()); }

  torch::nn::Embedding wte{nullptr};  // (V, C)
  torch::nn::Embedding wpe{nullptr};  // (n_positions, C)
  torch::nn::ModuleList h{nullptr};   // GPT2Block x block_count
  torch::nn::LayerNorm ln_f{nullptr};

 private:
  GPT2Config cfg_;
};
TORCH_MODULE(GPT2Model);

struct GPT2LMOutput {
  torch::Tensor logits;               // (B, T, V)
  std::vector<torch::Tensor> hidden;  // hidden_0 .. hidden_{n_layer}, each (B, T, C)
};

// HF's GPT2LMHeadModel: names map 1:1 to its safetensors ("transformer.h.0.attn.c_attn.weight").
// The LM head reuses wte unless tie_word_embeddings is false (then "lm_head.weight").
class GPT2LMHeadModelImpl : public torch::nn::Module {
 public:
  explicit GPT2LMHeadModelImpl(const GPT2Config& cfg);
  torch::Tensor forward(const torch::Tensor& ids);  // (B, T) -> logits (B, T, V)
  GPT2LMOutput forward_full(const torch::Tensor& ids, GPT2KVCache* cache = nullptr,
                            bool keep_hidden = true);
  // Greedy decoding with a KV cache: prompt (B, T0) -> (B, T0 + n_new), prompt included.
  // T0 + n_new must not exceed n_positions (UsageError).
  torch::Tensor greedy_generate(const torch::Tensor& prompt, int64_t n_new);

  const GPT2Config& config() const { return transformer->config(); }

  GPT2Model transformer{nullptr};
  torch::Tensor lm_head_weight;  // (V, C), registered as "lm_head.weight" only when untied
};
TORCH_MODULE(GPT2LMHeadModel);

// Mean over T of hidden (B, T, C) -> (B, C); with mask (B, T) only where mask != 0.
torch::Tensor mean_over_tokens(const torch::Tensor& hidden, const torch::Tensor& mask = {});

// The loader from a checkpoint directory (config.json + model.safetensors). It accepts both an
// LM-head file ("transformer." names) and a bare GPT2Model file, ignores the old causal-mask
// buffers ("h.N.attn.bias") and returns the module in eval mode on the CPU.
GPT2LMHeadModel load_gpt2_lm_head_model(const std::string& dir);

// `elarin encode`'s GPT-2 (a row of hf_architectures()): pooled, hidden and logits.
std::unique_ptr<HfModel> load_gpt2_handle(const HfArchitecture& row, const std::string& dir);

}  // namespace elarin
