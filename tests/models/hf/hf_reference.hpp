// Test helpers for the Llama / Qwen3 loaders: a tiny random checkpoint written with Hugging
// Face's tensor names, and Hugging Face's forward (LlamaForCausalLM, Qwen3ForCausalLM,
// Qwen3MoeForCausalLM) re-implemented from the same tensors with plain torch ops in float64,
// written apart from Elara's code. Leaves out shared experts, caches and padded batches.
//
//   elarin::test::HfTinyLm lm;            // Qwen3-shaped: head_dim 10 with hidden 24
//   lm.write(dir);                        // config.json + model.safetensors
//   torch::Tensor ref = lm.forward(ids);  // (B, T, V) float64
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "elarin/core/safetensors.hpp"

namespace elarin::test {

struct HfTinyLm {
  // config.json as written; the forward reads its fields back from here.
  nlohmann::json config = {
      {"architectures", {"Qwen3ForCausalLM"}},
      {"model_type", "qwen3"},
      {"vocab_size", 67},
      {"hidden_size", 24},
      {"num_hidden_layers", 2},
      {"num_attention_heads", 4},
      {"num_key_value_heads", 2},
      {"head_dim", 10},  // 4 heads x 10 = 40 != hidden 24: q_proj (40, 24), o_proj (24, 40)
      {"intermediate_size", 40},
      {"max_position_embeddings", 64},
      {"rms_norm_eps", 1e-6},
      {"rope_theta", 10000.0},
      {"rope_scaling", nullptr},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"tie_word_embeddings", false},
      {"use_sliding_window", false},
      {"sliding_window", nullptr},
      {"max_window_layers", 28},
      {"bos_token_id", 1},
      {"eos_token_id", {2, 3}},  // Llama 3.x and Qwen3 list several
      {"torch_dtype", "bfloat16"},
  };
  std::map<std::string, torch::Tensor> tensors;  // HF names -> float32

  int64_t get(const char* key) const { return config.at(key).get<int64_t>(); }
  int64_t head_dim() const {
    return config.contains("head_dim") ? get("head_dim")
                                       : get("hidden_size") / get("num_attention_heads");
  }
  bool qk_norm() const {
    return config.at("model_type") == "qwen3" || config.at("model_type") == "qwen3_moe";
  }
  bool tied() const { return config.value("tie_word_embeddings", false); }
  bool attention_bias() const { return config.value("attention_bias", false); }
  // Qwen3MoeDecoderLayer: sparse unless listed in mlp_only_layers, every decoder_sparse_step.
  bool moe_layer(int64_t l) const {
    if (config.at("model_type") != "qwen3_moe" || get("num_experts") == 0) return false;
    for (const auto& d : config.value("mlp_only_layers", nlohmann::json::array()))
      if (d.get<int64_t>() == l) return false;
    return (l + 1) % config.value("decoder_sparse_step", int64_t(1)) == 0;
  }

  // Random weights for the current config (seeded): std 0.2 so that every part moves the
  // logits, norm gains around 1 so that a norm skipped or misplaced shows.
  void randomize(uint64_t seed) {
    torch::manual_seed(seed);
    tensors.clear();
    const int64_t V = get("vocab_size"), C = get("hidden_size"), H = get("num_attention_heads"),
                  G = get("num_key_value_heads"), D = head_dim(), F = get("intermediate_size");
    auto w = [](std::vector<int64_t> shape) { return torch::randn(shape) * 0.2; };
    auto gain = [](int64_t n) { return 1 + 0.2 * torch::randn({n}); };
    tensors["model.embed_tokens.weight"] = torch::randn({V, C});
    tensors["model.norm.weight"] = gain(C);
    if (!tied()) tensors["lm_head.weight"] = w({V, C});
    for (int64_t l = 0; l < get("num_hidden_layers"); ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      tensors[p + "input_layernorm.weight"] = gain(C);
      tensors[p + "post_attention_layernorm.weight"] = gain(C);
      tensors[p + "self_attn.q_proj.weight"] = w({H * D, C});
      tensors[p + "self_attn.k_proj.weight"] = w({G * D, C});
      tensors[p + "self_attn.v_proj.weight"] = w({G * D, C});
      tensors[p + "self_attn.o_proj.weight"] = w({C, H * D});
      if (attention_bias()) {
        tensors[p + "self_attn.q_proj.bias"] = w({H * D});
        tensors[p + "self_attn.k_proj.bias"] = w({G * D});
        tensors[p + "self_attn.v_proj.bias"] = w({G * D});
        tensors[p + "self_attn.o_proj.bias"] = w({C});
      }
      if (qk_norm()) {
        tensors[p + "self_attn.q_norm.weight"] = gain(D);
        tensors[p + "self_attn.k_norm.weight"] = gain(D);
      }
      if (moe_layer(l)) {
        const int64_t E = get("num_experts"), M = get("moe_intermediate_size");
        tensors[p + "mlp.gate.weight"] = torch::randn({E, C});  // router: spread-out scores
        for (int64_t e = 0; e < E; ++e) {
          const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
          tensors[x + "gate_proj.weight"] = w({M, C});
          tensors[x + "up_proj.weight"] = w({M, C});
          tensors[x + "down_proj.weight"] = w({C, M});
        }
        continue;
      }
      tensors[p + "mlp.gate_proj.weight"] = w({F, C});
      tensors[p + "mlp.up_proj.weight"] = w({F, C});
      tensors[p + "mlp.down_proj.weight"] = w({C, F});
    }
  }

  void write(const std::string& dir) const {
    std::ofstream(dir + "/config.json") << config.dump(2);
    save_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  }

  // transformers' _compute_default_rope_parameters, and _compute_linear_scaling_rope_parameters
  // / _compute_llama3_parameters when the config scales RoPE, in float64.
  torch::Tensor inv_freq() const {
    const int64_t D = head_dim();
    const double base = config.at("rope_theta").get<double>();
    auto inv = 1.0 / torch::pow(base, torch::arange(0, D, 2, torch::kDouble) / double(D));
    if (!config.contains("rope_scaling") || config.at("rope_scaling").is_null()) return inv;
    const auto& rs = config.at("rope_scaling");
    const std::string type = rs.value("rope_type", rs.value("type", "default"));
    const double factor = rs.value("factor", 1.0);
    if (type == "linear") return inv / factor;
    if (type != "llama3") return inv;
    const double low = rs.at("low_freq_factor"), high = rs.at("high_freq_factor");
    const double old_len = rs.at("original_max_position_embeddings").get<double>();
    auto wavelen = 2 * M_PI / inv;
    auto llama = torch::where(wavelen > old_len / low, inv / factor, inv);
    auto smooth = (old_len / wavelen - low) / (high - low);
    auto smoothed = (1 - smooth) * llama / factor + smooth * llama;
    auto medium = (wavelen >= old_len / high).logical_and(wavelen <= old_len / low);
    return torch::where(medium, smoothed, llama);
  }

  // LlamaForCausalLM / Qwen3ForCausalLM logits for ids (B, T) at positions 0 .. T-1, float64.
  torch::Tensor forward(const torch::Tensor& ids) const {
    auto t = [&](const std::string& name) { return tensors.at(name).to(torch::kDouble); };
    const double eps = config.at("rms_norm_eps").get<double>();
    const int64_t B = ids.size(0), T = ids.size(1), H = get("num_attention_heads"),
                  G = get("num_key_value_heads"), D = head_dim();
    auto rms = [&](const torch::Tensor& x, const torch::Tensor& w) {
      return w * (x * torch::rsqrt(x.pow(2).mean(-1, true) + eps));
    };
    auto linear = [&](const torch::Tensor& x, const std::string& name, bool bias) {
      auto y = torch::matmul(x, t(name + ".weight").t());
      return bias ? y + t(name + ".bias") : y;
    };
    auto rotate_half = [](const torch::Tensor& x) {
      const int64_t h = x.size(-1) / 2;
      return torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
    };
    auto freqs = torch::outer(torch::arange(T, torch::kDouble), inv_freq());  // (T, D/2)
    auto emb = torch::cat({freqs, freqs}, -1);                                // (T, D)
    auto cos = emb.cos(), sin = emb.sin();
    auto causal = torch::ones({T, T}, torch::kBool).triu(1);
    auto x = t("model.embed_tokens.weight").index_select(0, ids.flatten()).view({B, T, -1});
    for (int64_t l = 0; l < get("num_hidden_layers"); ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      auto h = rms(x, t(p + "input_layernorm.weight"));
      const bool b = attention_bias();
      auto q = linear(h, p + "self_attn.q_proj", b).view({B, T, H, D});
      auto k = linear(h, p + "self_attn.k_proj", b).view({B, T, G, D});
      auto v = linear(h, p + "self_attn.v_proj", b).view({B, T, G, D}).transpose(1, 2);
      if (qk_norm()) {  // Qwen3Attention: q_norm / k_norm over head_dim, then transpose
        q = rms(q, t(p + "self_attn.q_norm.weight"));
        k = rms(k, t(p + "self_attn.k_norm.weight"));
      }
      q = q.transpose(1, 2);  // (B, H, T, D)
      k = k.transpose(1, 2);  // (B, G, T, D)
      q = q * cos + rotate_half(q) * sin;
      k = k * cos + rotate_half(k) * sin;
      k = k.repeat_interleave(H / G, 1);  // repeat_kv
      v = v.repeat_interleave(H / G, 1);
      auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(D));  // (B,H,T,T)
      scores = scores.masked_fill(causal, -INFINITY);
      auto y = torch::matmul(torch::softmax(scores, -1), v);  // (B, H, T, D)
      y = y.transpose(1, 2).reshape({B, T, H * D});
      x = x + linear(y, p + "self_attn.o_proj", b);
      h = rms(x, t(p + "post_attention_layernorm.weight"));
      auto swiglu = [&](const std::string& m) {
        return linear(
            torch::silu(linear(h, m + "gate_proj", false)) * linear(h, m + "up_proj", false),
            m + "down_proj", false);
      };
      if (!moe_layer(l)) {
        x = x + swiglu(p + "mlp.");
        continue;
      }
      // Qwen3MoeSparseMoeBlock: softmax over all experts, top-k, optionally renormalised;
      // every expert computed here, weighted 0 where not chosen.
      const int64_t E = get("num_experts"), K = get("num_experts_per_tok");
      auto probs = torch::softmax(linear(h, p + "mlp.gate", false), -1);  // (B, T, E)
      auto top = std::get<1>(probs.topk(K, -1));
      auto weights = torch::zeros_like(probs).scatter(-1, top, probs.gather(-1, top));
      if (config.value("norm_topk_prob", false)) weights = weights / weights.sum(-1, true);
      for (int64_t e = 0; e < E; ++e)
        x = x + weights.narrow(-1, e, 1) * swiglu(p + "mlp.experts." + std::to_string(e) + ".");
    }
    x = rms(x, t("model.norm.weight"));
    return torch::matmul(x, t(tied() ? "model.embed_tokens.weight" : "lm_head.weight").t());
  }
};

}  // namespace elarin::test
