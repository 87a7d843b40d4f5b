// Llama / Qwen2 / Qwen2-MoE / Qwen3 / Qwen3-MoE checkpoints as Elara models, and their
// `elarin encode` handle (see the header).
#include "elarin/models/hf/llama.hpp"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <regex>
#include <set>

#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/models/hf/loader.hpp"

namespace elarin {
namespace {

// `text` with every occurrence of `from` replaced by `to`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
    text.replace(pos, from.size(), to);
  return text;
}

}  // namespace

models::ElaraConfig hf_elara_config(const HfConfig& cfg) {
  static const std::vector<std::string> kTypes = {"llama", "qwen2", "qwen2_moe", "qwen3",
                                                  "qwen3_moe"};
  const std::string type = cfg.get_string("model_type");
  if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end())
    throw UsageError("hf_elara_config: model_type '" + type +
                     "' is not an Elara-compatible architecture (" + join_names(kTypes) + ")");
  const bool qwen3 = type == "qwen3" || type == "qwen3_moe";
  auto refuse = [&](const std::string& key, const std::string& value, const std::string& why) {
    throw FormatError(cfg.origin() + ": " + cfg.key_path(key) + " = " + value + "; " + why);
  };
  models::ElaraConfig c;
  c.vocab_size = cfg.get_int("vocab_size");
  c.n_embd = cfg.get_int("hidden_size");
  c.n_layer = cfg.get_int("num_hidden_layers");
  c.n_head = cfg.get_int("num_attention_heads");
  c.n_kv_head = cfg.get_int("num_key_value_heads", c.n_head);
  c.ffn_hidden = cfg.get_int("intermediate_size");
  c.block_size = cfg.get_int("max_position_embeddings");
  c.norm_eps = cfg.get_double("rms_norm_eps", 1e-6);
  c.rope_theta = rope_theta(cfg);
  c.rope_scaling = rope_scaling(cfg);
  c.tie_embeddings = cfg.get_bool("tie_word_embeddings", false);
  c.dropout = 0.0;
  // Llama, Qwen2 and Qwen3 all read head_dim when config.json has it (Qwen3: 128 whatever
  // hidden_size); Elara keeps head_size 0 when it is the usual hidden_size / heads.
  const int64_t head_dim = cfg.get_int("head_dim", c.n_embd / c.n_head);
  if (head_dim * c.n_head != c.n_embd || c.n_embd % c.n_head != 0) c.head_size = head_dim;
  const std::string act = cfg.get_string("hidden_act", "silu");
  if (act != "silu") refuse("hidden_act", "'" + act + "'", "Elara's feed-forward is SwiGLU (silu)");
  // partial_rotary_factor: top level, or inside rope_parameters (transformers 5).
  const bool nested = cfg.has("rope_parameters") &&
                      cfg.object().at("rope_parameters").is_object() &&
                      cfg.sub("rope_parameters").has("partial_rotary_factor");
  const HfConfig rotary = nested ? cfg.sub("rope_parameters") : cfg;
  const double partial = rotary.get_double("partial_rotary_factor", 1.0);
  if (partial != 1.0)
    throw FormatError(cfg.origin() + ": " + rotary.key_path("partial_rotary_factor") + " = " +
                      c10::str(partial) + "; Elara rotates whole heads (1.0)");
  if (cfg.get_bool("use_sliding_window", false))
    refuse("use_sliding_window", "true", "Elara attends to all positions");
  if (cfg.has("layer_types"))
    for (const auto& kind : cfg.object().at("layer_types"))
      if (kind != "full_attention")
        refuse("layer_types", kind.dump(), "Elara attends to all positions (full_attention only)");
  if (type == "llama") {
    c.attention_bias = cfg.get_bool("attention_bias", false);  // q, k, v and o
    if (cfg.get_bool("mlp_bias", false)) refuse("mlp_bias", "true", "Elara's SwiGLU has no biases");
  } else if (qwen3) {
    c.attention_bias = cfg.get_bool("attention_bias", false);  // q, k, v and o
    c.qk_norm = true;  // q_norm, k_norm: RMSNorm per head before RoPE
  } else {
    c.qkv_bias = cfg.get_bool("qkv_bias", true);  // Qwen2: q/k/v biases, none on o_proj
  }
  if (type == "qwen2_moe" || type == "qwen3_moe") {
    c.expert_count = cfg.get_int("num_experts");
    c.moe_top_k = cfg.get_int("num_experts_per_tok");
    c.moe_every = cfg.get_int("decoder_sparse_step", 1);
    c.expert_hidden = cfg.get_int("moe_intermediate_size");
    if (type == "qwen2_moe") {
      c.shared_expert_hidden = cfg.get_int("shared_expert_intermediate_size");
      c.shared_expert_count = c.shared_expert_hidden > 0 ? 1 : 0;
      c.shared_expert_gate = true;
    } else {
      c.shared_expert_count = 0;  // Qwen3-MoE: routed experts only
    }
    c.norm_topk_prob = cfg.get_bool("norm_topk_prob", false);
    if (cfg.has("mlp_only_layers"))
      for (const auto& l : cfg.json()["mlp_only_layers"]) c.dense_layers.push_back(l.get<int64_t>());
  }
  try {
    c.validate();
  } catch (const UsageError& e) {
    throw FormatError(cfg.origin() + ": maps onto an Elara config it cannot build: " + e.what());
  }
  return c;
}

std::string hf_elara_tensor_name(const std::string& name) {
  if (name == "lm_head.weight") return name;
  static const std::regex kBookkeeping(R"(.*\.moe\.(active|pruned|frozen|balance_bias|group_of|gate\.bias))");
  if (std::regex_match(name, kBookkeeping)) return "";
  std::string n = replace_all(name, ".moe.routed.", ".mlp.experts.");
  n = replace_all(n, ".moe.shared.0.", ".mlp.shared_expert.");
  n = replace_all(n, ".moe.shared_expert_gate.", ".mlp.shared_expert_gate.");
  n = replace_all(n, ".moe.gate.", ".mlp.gate.");
  return "model." + n;
}

models::ElaraModel load_hf_elara(const std::string& dir) {
  const auto cfg = hf_elara_config(HfConfig::load(dir));
  models::ElaraModel model(cfg);
  const auto path = hf_weights_path(dir);
  const auto st = SafeTensors::open(path);
  std::set<std::string> unused;
  for (const auto& n : st.names()) unused.insert(n);
  // Rotary tables some checkpoints store, and a tied head stored anyway, are not parameters.
  static const std::regex kIgnored(R"(model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq)");
  std::vector<std::string> missing, bad_shape;
  // (destination, tensor of the file; empty: zeros). Read only once all are known good.
  std::vector<std::pair<torch::Tensor, std::string>> copies;
  auto visit = [&](const std::string& name, torch::Tensor& dst) {
    const std::string file_name = hf_elara_tensor_name(name);
    if (file_name.empty()) {
      if (name.size() > 9 && name.compare(name.size() - 9, 9, "gate.bias") == 0)
        copies.emplace_back(dst, std::string());  // HF routers have no bias
      return;
    }
    if (!st.contains(file_name)) {
      missing.push_back(file_name);
      return;
    }
    unused.erase(file_name);
    const c10::IntArrayRef shape(st.info(file_name).shape);
    const auto type = safetensors_dtype(st.info(file_name).dtype);
    if (shape != dst.sizes()) {
      bad_shape.push_back(file_name + " " + c10::str(shape) + " (model " + c10::str(dst.sizes()) +
                          ")");
      return;
    }
    if (type != dst.scalar_type() && !c10::isFloatingType(type)) {
      bad_shape.push_back(file_name + " of dtype " + st.info(file_name).dtype);
      return;
    }
    copies.emplace_back(dst, file_name);
  };
  for (auto& p : model->named_parameters(true)) visit(p.key(), p.value());
  for (auto& b : model->named_buffers(true)) visit(b.key(), b.value());
  for (auto it = unused.begin(); it != unused.end();)
    it = std::regex_match(*it, kIgnored) || (cfg.tie_embeddings && *it == "lm_head.weight")
             ? unused.erase(it)
             : std::next(it);
  if (!missing.empty() || !bad_shape.empty() || !unused.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    throw FormatError(path + ": does not match the " + std::to_string(cfg.n_layer) +
                      "-layer Elara model of its config.json: missing [" + list(missing) +
                      "], wrong shape or dtype [" + list(bad_shape) + "], unexpected [" +
                      list({unused.begin(), unused.end()}) + "]");
  }
  torch::NoGradGuard no_grad;
  for (auto& [dst, file_name] : copies) {
    if (file_name.empty())
      dst.zero_();
    else
      st.read_into(file_name, dst);  // a piece at a time: never the file and the model at once
  }
  model->eval();
  return model;
}

namespace {

// `elarin encode` over Llama / Qwen2 / Qwen3 (and their MoEs) as an Elara model: hidden, logits.
class ElaraHandle : public HfModelOf<models::ElaraModel> {
 public:
  ElaraHandle(const HfArchitecture& row, const std::string& dir)
      : HfModelOf(row, dir, load_hf_elara(dir)) {}

  std::string input_name() const override { return "input_ids"; }
  std::vector<int64_t> input_shape() const override { return {-1, -1}; }
  std::vector<std::string> outputs() const override { return {"hidden", "logits"}; }
  int64_t layer_count() const override {
    return model_->config().n_layer * model_->config().recursion_depth;
  }
  int64_t output_size(const std::string& output) const override {
    return output == "logits" ? model_->config().vocab_size : model_->config().n_embd;
  }

 protected:
  bool pooled_takes_layer() const override { return false; }
  torch::Tensor run(const torch::Tensor& input, const std::string& output,
                    std::optional<int64_t> layer, const torch::Tensor& mask) override {
    const auto& c = model_->config();
    if (input.dim() != 2 || input.size(1) > c.block_size || input.numel() == 0 ||
        input.min().item<int64_t>() < 0 || input.max().item<int64_t>() >= c.vocab_size)
      throw UsageError("input_ids: expected (B, T) ids in 0.." + std::to_string(c.vocab_size - 1) +
                       " with T <= " + std::to_string(c.block_size) + ", got shape " +
                       c10::str(input.sizes()));
    auto out = model_->forward(input, nullptr, /*keep_hidden_states=*/output == "hidden");
    if (output == "logits") return out.logits;                                     // (B, T, V)
    return out.hidden_states[static_cast<size_t>(layer.value_or(layer_count()))];  // (B, T, C)
  }
};

}  // namespace

std::unique_ptr<HfModel> load_elara_handle(const HfArchitecture& row, const std::string& dir) {
  return std::make_unique<ElaraHandle>(row, dir);
}

}  // namespace elarin
