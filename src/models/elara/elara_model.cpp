// The Elara LM (see the header).
#include "elarin/models/elara/elara_model.hpp"

#include <torch/torch.h>

#include <cmath>

#include "nn/fused_causal_attention.hpp"

namespace elarin::models {
namespace {

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

nn::MoEConfig moe_config(const ElaraConfig& c) {
  nn::MoEConfig m;
  m.expert_type = "swiglu";
  m.d_model = c.n_embd;
  m.d_out = c.n_embd;
  m.expert_hidden = c.expert_hidden > 0 ? c.expert_hidden : c.ffn_width();
  m.expert_count = c.expert_count;
  m.active_experts = c.expert_count;
  m.shared_experts = c.shared_expert_count;
  m.shared_hidden = c.shared_expert_hidden;
  m.shared_gate = c.shared_expert_gate;
  m.normalize_topk = c.norm_topk_prob;
  m.top_k = c.moe_top_k;
  m.balance = "switch";
  return m;
}

}  // namespace

ElaraAttentionImpl::ElaraAttentionImpl(const ElaraConfig& cfg)
    : n_head_(cfg.n_head),
      n_kv_head_(cfg.kv_heads()),
      head_dim_(cfg.head_dim()),
      dropout_(cfg.dropout),
      rope_(cfg.head_dim(), cfg.rope_theta, cfg.rope_scaling) {
  const int64_t C = cfg.n_embd, q = n_head_ * head_dim_, kv = n_kv_head_ * head_dim_;
  const bool qkv_bias = cfg.bias || cfg.qkv_bias || cfg.attention_bias;
  q_proj = register_module("q_proj", linear(C, q, qkv_bias));
  k_proj = register_module("k_proj", linear(C, kv, qkv_bias));
  v_proj = register_module("v_proj", linear(C, kv, qkv_bias));
  o_proj = register_module("o_proj", linear(q, C, cfg.bias || cfg.attention_bias));
  if (cfg.qk_norm) {
    q_norm = register_module("q_norm", nn::RMSNorm(head_dim_, cfg.norm_eps));
    k_norm = register_module("k_norm", nn::RMSNorm(head_dim_, cfg.norm_eps));
  }
}

torch::Tensor ElaraAttentionImpl::norm_qk(const torch::Tensor& qkv) {
  if (!q_norm) return qkv;
  const int64_t D = head_dim_, q = n_head_ * D, kv = n_kv_head_ * D;
  auto lead = qkv.sizes().vec();
  lead.pop_back();
  auto heads = [&](nn::RMSNorm& norm, int64_t begin, int64_t width) {
    auto shape = lead;
    shape.insert(shape.end(), {width / D, D});
    return norm(qkv.narrow(-1, begin, width).reshape(shape)).flatten(-2);  // (..., width)
  };
  return torch::cat({heads(q_norm, 0, q), heads(k_norm, q, kv), qkv.narrow(-1, q + kv, kv)}, -1);
}

torch::Tensor ElaraAttentionImpl::forward(const torch::Tensor& x, int64_t offset,
                                          torch::Tensor* key, torch::Tensor* value,
                                          const AttentionLayout* layout) {
  const int64_t T = x.size(1);
  if (!key && !layout && (dropout_ == 0 || !is_training()) && nn::fused_attention_supported(x)) {
    // One matmul for q, k and v, then RoPE + causal attention in one node.
    auto w = torch::cat({q_proj->weight, k_proj->weight, v_proj->weight}, 0);
    auto b = q_proj->bias.defined()
                 ? torch::cat({q_proj->bias, k_proj->bias, v_proj->bias}, 0)
                 : torch::Tensor();
    auto [cos, sin] = rope_.tables(offset, T, x.device());
    auto qkv = norm_qk(torch::linear(x, w, b));  // (B, T, (H + 2 H_kv) D)
    return o_proj(nn::fused_causal_attention(qkv, cos, sin, n_head_, n_kv_head_));  // (B, T, C)
  }
  return reference(x, offset, key, value, layout);
}

torch::Tensor ElaraAttentionImpl::reference(const torch::Tensor& x, int64_t offset,
                                            torch::Tensor* key, torch::Tensor* value,
                                            const AttentionLayout* layout) {
  const int64_t B = x.size(0), T = x.size(1), D = head_dim_;
  auto q = q_proj(x).view({B, T, n_head_, D});     // (B, T, H, D)
  auto k = k_proj(x).view({B, T, n_kv_head_, D});  // (B, T, H_kv, D)
  if (q_norm) {  // Qwen3: each head RMS-normed over D, before RoPE
    q = q_norm(q);
    k = k_norm(k);
  }
  q = q.transpose(1, 2);  // (B, H, T, D)
  k = k.transpose(1, 2);  // (B, H_kv, T, D)
  auto v = v_proj(x).view({B, T, n_kv_head_, D}).transpose(1, 2);
  if (layout)
    std::tie(q, k) = rope_.apply_at(q, k, layout->positions, layout->end);
  else
    std::tie(q, k) = rope_.apply(q, k, offset);
  if (key && key->defined()) {
    k = torch::cat({*key, k}, 2);  // (B, H_kv, T_past + T, D)
    v = torch::cat({*value, v}, 2);
  }
  if (key) {
    *key = k;
    *value = v;
  }
  const int64_t S = k.size(2);  // keys visible: past + current
  if (n_kv_head_ != n_head_) {
    // Grouped-query attention: query head h reads key/value head h / (H / H_kv).
    k = k.repeat_interleave(n_head_ / n_kv_head_, 1);
    v = v.repeat_interleave(n_head_ / n_kv_head_, 1);
  }
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(D)));  // (B,H,T,S)
  if (layout) {
    TORCH_CHECK(layout->bias.size(0) == T && layout->bias.size(1) == S,
                "ElaraAttention: layout bias ", layout->bias.sizes(), " for ", T, " queries and ",
                S, " keys");
    att = att + layout->bias.to(att.device());
  } else if (T > 1) {
    // Query t sits at absolute position S - T + t and sees keys 0 .. S - T + t.
    auto mask = torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool)).triu(S - T + 1);
    att = att.masked_fill(mask.to(att.device()), -std::numeric_limits<float>::infinity());
  }
  att = torch::softmax(att, -1);
  if (dropout_ > 0) att = torch::dropout(att, dropout_, is_training());
  auto y = torch::matmul(att, v);                                            // (B, H, T, D)
  return o_proj(y.transpose(1, 2).contiguous().view({B, T, n_head_ * D}));  // (B, T, C)
}

ElaraBlockImpl::ElaraBlockImpl(const ElaraConfig& cfg, int64_t layer_index)
    : dropout_(cfg.dropout) {
  input_layernorm = register_module("input_layernorm", nn::RMSNorm(cfg.n_embd, cfg.norm_eps));
  self_attn = register_module("self_attn", ElaraAttention(cfg));
  post_attention_layernorm =
      register_module("post_attention_layernorm", nn::RMSNorm(cfg.n_embd, cfg.norm_eps));
  if (cfg.is_moe_layer(layer_index))
    moe = register_module("moe", nn::MoECore(moe_config(cfg)));
  else
    mlp = register_module("mlp", nn::SwiGLU(cfg.n_embd, cfg.ffn_width(), cfg.bias));
}

torch::Tensor ElaraBlockImpl::forward(const torch::Tensor& x, int64_t offset, torch::Tensor* key,
                                      torch::Tensor* value, torch::Tensor* aux,
                                      const AttentionLayout* layout) {
  auto drop = [&](const torch::Tensor& t) {
    return dropout_ > 0 ? torch::dropout(t, dropout_, is_training()) : t;
  };
  auto h = x + drop(self_attn(input_layernorm(x), offset, key, value, layout));
  auto n = post_attention_layernorm(h);
  torch::Tensor f;
  if (moe) {
    const int64_t B = n.size(0), T = n.size(1), C = n.size(2);
    auto out = moe->forward(n.reshape({B * T, C}));  // tokens are the MoE core's rows
    f = out.y.view({B, T, C});
    if (aux) *aux = *aux + out.aux_loss;
  } else {
    f = mlp(n);
  }
  return h + drop(f);
}

ElaraModelImpl::ElaraModelImpl(const ElaraConfig& cfg) : config_(cfg) {
  config_.validate();
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(cfg.vocab_size, cfg.n_embd));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    blocks_.push_back(ElaraBlock(cfg, i));
    layers->push_back(blocks_.back());
  }
  norm = register_module("norm", nn::RMSNorm(cfg.n_embd, cfg.norm_eps));
  if (!cfg.tie_embeddings)
    lm_head = register_module("lm_head", linear(cfg.n_embd, cfg.vocab_size, false));
  if (cfg.use_diffusion_head) {
    mask_embed = register_parameter("mask_embed", torch::zeros({cfg.n_embd}));
    draft_proj = register_module("draft_proj", linear(cfg.n_embd, cfg.n_embd, false));
  }
  // nanoGPT / GPT-2 initialisation: N(0, 0.02), output projections scaled by
  // 1/sqrt(2 * effective depth) so the residual stream does not grow with depth.
  torch::NoGradGuard no_grad;
  const double out_std = 0.02 / std::sqrt(2.0 * double(cfg.n_layer * cfg.recursion_depth));
  for (auto& [name, p] : named_parameters(true).pairs()) {
    if (name == "draft_proj.weight") {
      p.copy_(torch::eye(cfg.n_embd));  // starts as the AR head read at the mask positions
      continue;
    }
    if (name.find("norm") != std::string::npos && name.find("weight") != std::string::npos &&
        p.dim() == 1)
      continue;  // RMSNorm gains stay at 1
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      p.zero_();
    } else if (name.find("o_proj") != std::string::npos ||
               name.find("down_proj") != std::string::npos) {
      p.normal_(0.0, out_std);
    } else {
      p.normal_(0.0, 0.02);
    }
  }
}

torch::Tensor ElaraModelImpl::head(const torch::Tensor& hidden) {
  if (lm_head) return lm_head(hidden);                     // (B, T, V)
  return torch::matmul(hidden, embed_tokens->weight.t());  // tied: (B, T, V)
}

MaskVisibility MaskVisibility::of(int64_t past, int64_t T, const MaskBlocks* blocks) {
  const int64_t L = blocks ? blocks->len : 0, N = T + (blocks ? blocks->count() : 0);
  MaskVisibility v;
  v.pos.resize(static_cast<size_t>(N));
  v.upto.resize(static_cast<size_t>(N));
  v.own_begin.assign(static_cast<size_t>(N), 0);
  v.own_end.assign(static_cast<size_t>(N), 0);
  v.end = past + T;
  for (int64_t t = 0; t < T; ++t) {  // causal over cache + tokens
    v.pos[static_cast<size_t>(t)] = past + t;
    v.upto[static_cast<size_t>(t)] = past + t + 1;
  }
  for (size_t b = 0; blocks && b < blocks->prefix.size(); ++b) {
    const int64_t p = blocks->prefix[b], first = T + static_cast<int64_t>(b) * L;
    TORCH_CHECK(p >= 1 && p <= T, "MaskBlocks: block ", b, " sees ", p, " tokens, expected 1..",
                T);
    for (int64_t i = 0; i < L; ++i) {
      const auto q = static_cast<size_t>(first + i);
      v.pos[q] = past + p + blocks->ahead + i;
      v.upto[q] = past + p;               // cache + its prefix
      v.own_begin[q] = past + first;      // its own block
      v.own_end[q] = past + first + L;
    }
    v.end = std::max(v.end, past + p + blocks->ahead + L);
  }
  return v;
}

AttentionLayout ElaraModelImpl::layout(int64_t past, int64_t T, const MaskBlocks& blocks) {
  const auto v = MaskVisibility::of(past, T, &blocks);
  const auto N = static_cast<int64_t>(v.pos.size()), S = past + N;
  std::vector<float> bias(static_cast<size_t>(N * S), -std::numeric_limits<float>::infinity());
  for (int64_t q = 0; q < N; ++q) {
    const auto i = static_cast<size_t>(q);
    std::fill(bias.begin() + q * S, bias.begin() + q * S + v.upto[i], 0.0f);
    std::fill(bias.begin() + q * S + v.own_begin[i], bias.begin() + q * S + v.own_end[i], 0.0f);
  }
  AttentionLayout out;
  out.positions = torch::tensor(v.pos, torch::kLong);
  out.bias = torch::from_blob(bias.data(), {N, S}, torch::kFloat).clone();
  out.end = v.end;
  return out;
}

ElaraOutput ElaraModelImpl::forward(const torch::Tensor& ids, ElaraKVCache* cache,
                                    bool keep_hidden_states, const MaskBlocks* blocks) {
  TORCH_CHECK(ids.dim() == 2, "ElaraModel: expected ids (B, T), got ", ids.sizes());
  const int64_t offset = cache ? cache->length() : 0;
  const int64_t T = ids.size(1), n_mask = blocks ? blocks->count() : 0;
  TORCH_CHECK(n_mask == 0 || draft_proj, "ElaraModel: mask blocks need a diffusion head");
  AttentionLayout lay;
  if (n_mask > 0) lay = layout(offset, T, *blocks);
  const int64_t end = n_mask > 0 ? lay.end : offset + T;
  TORCH_CHECK(end <= config_.block_size, "ElaraModel: ", end, " positions exceed block_size ",
              config_.block_size);
  const size_t apps = static_cast<size_t>(config_.n_layer * config_.recursion_depth);
  if (cache && cache->key.size() != apps) {
    cache->key.assign(apps, torch::Tensor());
    cache->value.assign(apps, torch::Tensor());
  }
  auto x = embed_tokens(ids);   // (B, T, C)
  if (n_mask > 0)               // (B, T + n_mask, C)
    x = torch::cat({x, mask_embed.view({1, 1, -1}).expand({x.size(0), n_mask, x.size(2)})}, 1);
  if (config_.dropout > 0) x = torch::dropout(x, config_.dropout, is_training());
  auto aux = torch::zeros({}, x.options());
  ElaraOutput out;
  if (keep_hidden_states) out.hidden_states.push_back(x);
  size_t a = 0;
  for (auto& block : blocks_)
    for (int64_t r = 0; r < config_.recursion_depth; ++r, ++a) {
      x = block->forward(x, offset, cache ? &cache->key[a] : nullptr,
                         cache ? &cache->value[a] : nullptr, &aux, n_mask > 0 ? &lay : nullptr);
      if (keep_hidden_states) out.hidden_states.push_back(x);
    }
  out.hidden = norm(x);
  if (keep_hidden_states) out.hidden_states.back() = out.hidden;  // HF: the last is normed
  if (n_mask > 0) {
    out.draft_logits = head(draft_proj(out.hidden.narrow(1, T, n_mask)));  // (B, n_mask, V)
    out.hidden = out.hidden.narrow(1, 0, T);
  }
  out.logits = head(out.hidden);
  out.aux_loss = aux;
  return out;
}

int64_t ElaraModelImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::pair<int64_t, int64_t> ElaraModelImpl::count_parameters(const ElaraConfig& cfg) {
  cfg.validate();
  const int64_t C = cfg.n_embd, V = cfg.vocab_size;
  int64_t total = V * C + C;                     // embeddings, final norm
  if (!cfg.tie_embeddings) total += V * C;       // own LM head
  if (cfg.use_diffusion_head) total += C + C * C;  // mask embedding, draft projection
  int64_t active = total;
  torch::NoGradGuard no_grad;
  std::pair<int64_t, int64_t> per_kind[2] = {{-1, -1}, {-1, -1}};  // dense, MoE: total, active
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    auto& k = per_kind[cfg.is_moe_layer(i) ? 1 : 0];
    if (k.first < 0) {
      ElaraBlock block(cfg, i);
      int64_t n = 0;
      for (const auto& p : block->parameters()) n += p.numel();
      k = {n, n};
      if (block->is_moe()) {
        const auto& core = *block->moe;
        k.second -= (core.config().expert_count - core.config().top_k) *
                    core.expert_parameter_count(0);
      }
    }
    total += k.first;
    active += k.second;
  }
  return {total, active};
}

int64_t ElaraModelImpl::active_parameter_count() const {
  int64_t n = parameter_count();
  for (const auto& b : blocks_) {
    if (!b->is_moe()) continue;
    const auto& core = *b->moe;
    const int64_t E = core.config().expert_count, k = core.config().top_k;
    // Every routed expert has the same size; a token uses k of the E.
    n -= (E - k) * core.expert_parameter_count(0);
  }
  return n;
}

}  // namespace elarin::models
