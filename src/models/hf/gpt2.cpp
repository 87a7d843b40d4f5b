// GPT-2 (Hugging Face layout and numerics) with a KV cache
// and its `elarin encode` handle. Inference only: dropout is left out (HF's fixtures run in
// eval mode, where it is the identity).
#include "elarin/models/hf/gpt2.hpp"

#include "elarin/core/errors.hpp"
#include "elarin/models/hf/loader.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <sstream>

namespace elarin {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// Token ids must be an integer (B, T) tensor with values in [0, vocab) and positions that fit.
void check_ids(const torch::Tensor& ids, const GPT2Config& cfg, int64_t past) {
  if (!ids.defined() || ids.dim() != 2 || ids.size(1) == 0) {
    throw UsageError("GPT-2 input_ids: got shape " + (ids.defined() ? shape_of(ids) : "undefined") +
                     ", expected (B, T) with T >= 1");
  }
  if (c10::isFloatingType(ids.scalar_type()) || ids.scalar_type() == torch::kBool) {
    throw UsageError("GPT-2 input_ids: got dtype " + std::string(c10::toString(ids.scalar_type())) +
                     ", expected an integer tensor (int64)");
  }
  const int64_t end = past + ids.size(1);
  if (end > cfg.n_positions) {
    throw UsageError("GPT-2 input_ids: positions up to " + std::to_string(end) +
                     " exceed n_positions = " + std::to_string(cfg.n_positions));
  }
  const int64_t lo = ids.min().item<int64_t>();
  const int64_t hi = ids.max().item<int64_t>();
  if (lo < 0 || hi >= cfg.vocab_size) {
    throw UsageError("GPT-2 input_ids: token id " + std::to_string(lo < 0 ? lo : hi) +
                     " out of range, expected 0.." + std::to_string(cfg.vocab_size - 1));
  }
}

torch::nn::LayerNorm layer_norm(const GPT2Config& cfg) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({cfg.n_embd}).eps(cfg.layer_norm_epsilon));
}

}  // namespace

GPT2Config GPT2Config::from_hf(const HfConfig& cfg) {
  const std::string type = cfg.get_string("model_type", "gpt2");
  if (type != "gpt2") {
    throw FormatError(cfg.origin() + ": model_type is '" + type + "', expected 'gpt2'");
  }
  GPT2Config c;
  c.vocab_size = cfg.get_int("vocab_size", c.vocab_size);
  c.n_positions = cfg.get_int("n_positions", c.n_positions);
  c.n_embd = cfg.get_int("n_embd", c.n_embd);
  c.n_layer = cfg.get_int("n_layer", c.n_layer);
  c.n_head = cfg.get_int("n_head", c.n_head);
  c.n_inner = cfg.get_int("n_inner", 0);
  c.activation_function = cfg.get_string("activation_function", c.activation_function);
  activation_from_config(cfg, "activation_function", c.activation_function);  // validates the name
  c.layer_norm_epsilon = cfg.get_double("layer_norm_epsilon", c.layer_norm_epsilon);
  c.scale_attn_weights = cfg.get_bool("scale_attn_weights", c.scale_attn_weights);
  c.scale_attn_by_inverse_layer_idx =
      cfg.get_bool("scale_attn_by_inverse_layer_idx", c.scale_attn_by_inverse_layer_idx);
  c.tie_word_embeddings = cfg.get_bool("tie_word_embeddings", c.tie_word_embeddings);
  try {
    c.validate();
  } catch (const UsageError& e) {
    throw FormatError(cfg.origin() + ": " + e.what());
  }
  return c;
}

void GPT2Config::validate() const {
  auto positive = [](const char* name, int64_t v) {
    if (v <= 0) throw UsageError(std::string("GPT-2 ") + name + ": got " + std::to_string(v) +
                                 ", expected a positive integer");
  };
  positive("vocab_size", vocab_size);
  positive("n_positions", n_positions);
  positive("n_embd", n_embd);
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  if (n_embd % n_head != 0) {
    throw UsageError("GPT-2 n_embd: got " + std::to_string(n_embd) +
                     ", expected a multiple of n_head = " + std::to_string(n_head));
  }
  activation(activation_function);
}

Conv1DImpl::Conv1DImpl(int64_t in_features, int64_t out_features) {
  weight = register_parameter("weight", torch::empty({in_features, out_features}));
  bias = register_parameter("bias", torch::zeros({out_features}));
  torch::nn::init::normal_(weight, 0.0, 0.02);
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  auto out_shape = x.sizes().vec();
  out_shape.back() = weight.size(1);
  return torch::addmm(bias, x.reshape({-1, weight.size(0)}), weight).view(out_shape);
}

GPT2AttentionImpl::GPT2AttentionImpl(const GPT2Config& cfg, int64_t layer_index)
    : n_head_(cfg.n_head), scale_(1.0) {
  c_attn = register_module("c_attn", Conv1D(cfg.n_embd, 3 * cfg.n_embd));
  c_proj = register_module("c_proj", Conv1D(cfg.n_embd, cfg.n_embd));
  if (cfg.scale_attn_weights) scale_ /= std::sqrt(static_cast<double>(cfg.n_embd / cfg.n_head));
  if (cfg.scale_attn_by_inverse_layer_idx) scale_ /= static_cast<double>(layer_index + 1);
}

torch::Tensor GPT2AttentionImpl::forward(const torch::Tensor& x, torch::Tensor* key,
                                         torch::Tensor* value) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), D = C / n_head_;
  auto qkv = c_attn(x).split(C, -1);  // 3 x (B, T, C)
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, n_head_, D}).transpose(1, 2); };
  torch::Tensor q = heads(qkv[0]);  // (B, H, T, D)
  torch::Tensor k = heads(qkv[1]);  // (B, H, T, D)
  torch::Tensor v = heads(qkv[2]);  // (B, H, T, D)
  int64_t past = 0;
  if (key != nullptr && key->defined()) {
    past = key->size(2);
    k = torch::cat({*key, k}, 2);    // (B, H, S, D), S = past + T
    v = torch::cat({*value, v}, 2);  // (B, H, S, D)
  }
  if (key != nullptr) {
    *key = k;
    *value = v;
  }
  const int64_t S = past + T;
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * scale_;  // (B, H, T, S)
  // Query i sits at absolute position past + i and sees keys 0..past + i.
  torch::Tensor visible = torch::ones({T, S}, x.options().dtype(torch::kBool)).tril(past);
  scores = scores.masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity());
  torch::Tensor y = torch::matmul(torch::softmax(scores, -1), v);  // (B, H, T, D)
  return c_proj(y.transpose(1, 2).contiguous().view({B, T, C}));   // (B, T, C)
}

GPT2MLPImpl::GPT2MLPImpl(const GPT2Config& cfg) : act_(activation(cfg.activation_function)) {
  c_fc = register_module("c_fc", Conv1D(cfg.n_embd, cfg.inner_size()));
  c_proj = register_module("c_proj", Conv1D(cfg.inner_size(), cfg.n_embd));
}

torch::Tensor GPT2MLPImpl::forward(const torch::Tensor& x) { return c_proj(act_(c_fc(x))); }

GPT2BlockImpl::GPT2BlockImpl(const GPT2Config& cfg, int64_t layer_index) {
  ln_1 = register_module("ln_1", layer_norm(cfg));
  attn = register_module("attn", GPT2Attention(cfg, layer_index));
  ln_2 = register_module("ln_2", layer_norm(cfg));
  mlp = register_module("mlp", GPT2MLP(cfg));
}

torch::Tensor GPT2BlockImpl::forward(const torch::Tensor& x, torch::Tensor* key,
                                     torch::Tensor* value) {
  torch::Tensor h = x + attn->forward(ln_1(x), key, value);  // (B, T, C)
  return h + mlp(ln_2(h));                                    // (B, T, C)
}

GPT2ModelImpl::GPT2ModelImpl(const GPT2Config& cfg, int64_t block_count) : cfg_(cfg) {
  cfg_.validate();
  if (block_count < 0) block_count = cfg.n_layer;
  if (block_count < 1 || block_count > cfg.n_layer) {
    throw UsageError("GPT-2 block count: got " + std::to_string(block_count) + ", expected 1.." +
                     std::to_string(cfg.n_layer));
  }
  wte = register_module("wte", torch::nn::Embedding(cfg.vocab_size, cfg.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(cfg.n_positions, cfg.n_embd));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < block_count; ++i) h->push_back(GPT2Block(cfg, i));
  ln_f = register_module("ln_f", layer_norm(cfg));
}

GPT2ModelOutput GPT2ModelImpl::forward(const torch::Tensor& ids, GPT2KVCache* cache,
                                       bool keep_hidden) {
  const int64_t past = cache != nullptr ? cache->length() : 0;
  check_ids(ids, cfg_, past);
  const auto device = wte->weight.device();
  const torch::Tensor tokens = ids.to(device, torch::kLong);  // (B, T)
  const int64_t T = tokens.size(1);
  torch::Tensor positions = torch::arange(past, past + T, tokens.options());  // (T)
  torch::Tensor x = wte(tokens) + wpe(positions);                            // (B, T, C)

  const int64_t n = block_count();
  if (cache != nullptr && cache->key.empty()) {
    cache->key.resize(n);
    cache->value.resize(n);
  }
  GPT2ModelOutput out;
  for (int64_t i = 0; i < n; ++i) {
    if (keep_hidden) out.hidden.push_back(x);
    auto block = h->ptr<GPT2BlockImpl>(i);
    x = cache != nullptr ? block->forward(x, &cache->key[i], &cache->value[i]) : block->forward(x);
  }
  if (n == cfg_.n_layer) x = ln_f(x);  // HF applies ln_f only after the last block
  if (keep_hidden) out.hidden.push_back(x);
  out.last = x;
  return out;
}

GPT2LMHeadModelImpl::GPT2LMHeadModelImpl(const GPT2Config& cfg) {
  transformer = register_module("transformer", GPT2Model(cfg));
  if (!cfg.tie_word_embeddings) {
    lm_head_weight = torch::empty({cfg.vocab_size, cfg.n_embd});
    torch::nn::init::normal_(lm_head_weight, 0.0, 0.02);
    // A nested name keeps the file's key "lm_head.weight" without a one-tensor module.
    auto head = std::make_shared<torch::nn::Module>();
    lm_head_weight = head->register_parameter("weight", lm_head_weight);
    register_module("lm_head", head);
  }
}

GPT2LMOutput GPT2LMHeadModelImpl::forward_full(const torch::Tensor& ids, GPT2KVCache* cache,
                                               bool keep_hidden) {
  GPT2ModelOutput body = transformer->forward(ids, cache, keep_hidden);
  const torch::Tensor& head =
      lm_head_weight.defined() ? lm_head_weight : transformer->wte->weight;  // (V, C)
  return {torch::linear(body.last, head), std::move(body.hidden)};         // (B, T, V)
}

torch::Tensor GPT2LMHeadModelImpl::forward(const torch::Tensor& ids) {
  return forward_full(ids, nullptr, false).logits;
}

torch::Tensor GPT2LMHeadModelImpl::greedy_generate(const torch::Tensor& prompt, int64_t n_new) {
  if (n_new < 0) {
    throw UsageError("GPT-2 greedy_generate: n_new = " + std::to_string(n_new) +
                     ", expected >= 0");
  }
  const GPT2Config& cfg = config();
  if (prompt.dim() == 2 && prompt.size(1) + n_new > cfg.n_positions) {
    throw UsageError("GPT-2 greedy_generate: prompt of " + std::to_string(prompt.size(1)) +
                     " tokens + " + std::to_string(n_new) + " new exceeds n_positions = " +
                     std::to_string(cfg.n_positions));
  }
  torch::NoGradGuard no_grad;
  GPT2KVCache cache;
  torch::Tensor logits = forward_full(prompt, &cache, false).logits;  // (B, T0, V)
  std::vector<torch::Tensor> pieces{prompt.to(logits.device(), torch::kLong)};
  for (int64_t i = 0; i < n_new; ++i) {
    torch::Tensor next = logits.select(1, -1).argmax(-1, /*keepdim=*/true);  // (B, 1)
    pieces.push_back(next);
    if (i + 1 < n_new) logits = forward_full(next, &cache, false).logits;   // (B, 1, V)
  }
  return torch::cat(pieces, 1);  // (B, T0 + n_new)
}

torch::Tensor mean_over_tokens(const torch::Tensor& hidden, const torch::Tensor& mask) {
  if (!mask.defined()) return hidden.mean(1);  // (B, C)
  if (mask.dim() != 2 || mask.size(0) != hidden.size(0) || mask.size(1) != hidden.size(1)) {
    throw UsageError("token mask: got shape " + shape_of(mask) + ", expected (B, T) = [" +
                     std::to_string(hidden.size(0)) + ", " + std::to_string(hidden.size(1)) + "]");
  }
  torch::Tensor weights = (mask != 0).to(hidden.options()).unsqueeze(-1);  // (B, T, 1)
  torch::Tensor counts = weights.sum(1).clamp_min(1.0);                   // (B, 1)
  return (hidden * weights).sum(1) / counts;                              // (B, C)
}

namespace {

// Loads `outer`, whose "transformer" child is `body`, from an LM-head file ("transformer."
// names) or a bare GPT2Model file. `skip` are regexes relative to the transformer.
void load_gpt2_file(torch::nn::Module& outer, GPT2ModelImpl& body, const SafeTensors& st,
                    bool has_own_head, std::vector<std::string> skip) {
  skip.push_back(R"(h\.\d+\.attn\.(masked_)?bias)");  // causal-mask buffers of older files
  if (st.contains("transformer.wte.weight")) {
    for (auto& pattern : skip) pattern = R"(transformer\.)" + pattern;
    if (!has_own_head) skip.push_back(R"(lm_head\.weight)");  // tied: a copy of wte
    load_state(outer, st, "", skip);
    return;
  }
  if (has_own_head) {
    throw FormatError(st.path() + ": tie_word_embeddings is false but the file has no " +
                      "lm_head.weight (a bare GPT2Model checkpoint?)");
  }
  load_state(body, st, "", skip);
}

}  // namespace

GPT2LMHeadModel load_gpt2_lm_head_model(const std::string& dir) {
  const GPT2Config cfg = GPT2Config::from_hf(HfConfig::load(dir));
  const SafeTensors st = SafeTensors::open(hf_weights_path(dir));
  GPT2LMHeadModel model(cfg);
  load_gpt2_file(*model, *model->transformer, st, !cfg.tie_word_embeddings, {});
  model->eval();
  return model;
}

namespace {

// `elarin encode` over GPT-2: pooled (mean over the real tokens), hidden, logits.
class Gpt2Handle : public HfModelOf<GPT2LMHeadModel> {
 public:
  Gpt2Handle(const HfArchitecture& row, const std::string& dir)
      : HfModelOf(row, dir, load_gpt2_lm_head_model(dir)) {}

  std::string input_name() const override { return "input_ids"; }
  std::vector<int64_t> input_shape() const override { return {-1, -1}; }
  std::vector<std::string> outputs() const override { return {"pooled", "hidden", "logits"}; }
  int64_t layer_count() const override { return model_->config().n_layer; }
  int64_t output_size(const std::string& output) const override {
    return output == "logits" ? model_->config().vocab_size : model_->config().n_embd;
  }

 protected:
  bool pooled_takes_layer() const override { return true; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    if (output == "logits") return model_->forward(input);  // (B, T, V)
    GPT2LMOutput out = model_->forward_full(input, nullptr, /*keep_hidden=*/true);
    const torch::Tensor& hidden = out.hidden[layer.value_or(layer_count())];  // (B, T, C)
    if (output == "hidden") return hidden;
    return mean_over_tokens(hidden, mask.defined() ? mask.to(hidden.device()) : mask);  // (B, C)
  }
};

}  // namespace

std::unique_ptr<HfModel> load_gpt2_handle(const HfArchitecture& row, const std::string& dir) {
  return std::make_unique<Gpt2Handle>(row, dir);
}

}  // namespace elarin
