// Llama / Qwen2 / Qwen2-MoE checkpoints as Elara models, and their `elarin encode` handle (see
// the header).
#include "elarin/models/hf/llama.hpp"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <regex>
#include <set>

#include "elarin/core/errors.hpp"
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
  const std::string type = cfg.get_string("model_type");
  if (type != "llama" && type != "qwen2" && type != "qwen2_moe")
    throw UsageError("hf_elara_config: model_type '" + type +
                     "' is not an Elara-compatible architecture (llama, qwen2, qwen2_moe)");
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
  c.tie_embeddings = cfg.get_bool("tie_word_embeddings", false);
  c.dropout = 0.0;
  if (cfg.get_int("head_dim", c.n_embd / c.n_head) * c.n_head != c.n_embd)
    throw FormatError(cfg.origin() + ": " + cfg.key_path("head_dim") + " = " +
                      std::to_string(cfg.get_int("head_dim")) +
                      " differs from hidden_size / num_attention_heads; Elara needs them equal");
  const std::string act = cfg.get_string("hidden_act", "silu");
  if (act != "silu")
    throw FormatError(cfg.origin() + ": " + cfg.key_path("hidden_act") + " = '" + act +
                      "'; Elara's feed-forward is SwiGLU (silu)");
  if (cfg.has("rope_scaling") && !cfg.json()["rope_scaling"].empty())
    throw FormatError(cfg.origin() + ": rope_scaling is set; Elara implements plain RoPE only");
  if (cfg.has("rope_parameters")) {
    const auto& rp = cfg.json()["rope_parameters"];
    if (rp.contains("rope_type") && rp["rope_type"] != "default")
      throw FormatError(cfg.origin() + ": rope_parameters.rope_type = " + rp["rope_type"].dump() +
                        "; Elara implements the default RoPE only");
  }
  if (cfg.get_bool("use_sliding_window", false))
    throw FormatError(cfg.origin() + ": use_sliding_window is true; Elara attends to all positions");
  if (type == "llama") {
    c.qkv_bias = cfg.get_bool("attention_bias", false);
    if (cfg.get_bool("mlp_bias", false))
      throw FormatError(cfg.origin() + ": mlp_bias is true; Elara's SwiGLU has no biases");
  } else {
    c.qkv_bias = cfg.get_bool("qkv_bias", true);  // Qwen2: q/k/v biases, none on o_proj
  }
  if (type == "qwen2_moe") {
    c.expert_count = cfg.get_int("num_experts");
    c.moe_top_k = cfg.get_int("num_experts_per_tok");
    c.moe_every = cfg.get_int("decoder_sparse_step", 1);
    c.expert_hidden = cfg.get_int("moe_intermediate_size");
    c.shared_expert_hidden = cfg.get_int("shared_expert_intermediate_size");
    c.shared_expert_count = c.shared_expert_hidden > 0 ? 1 : 0;
    c.shared_expert_gate = true;
    c.norm_topk_prob = cfg.get_bool("norm_topk_prob", false);
    if (cfg.has("mlp_only_layers"))
      for (const auto& l : cfg.json()["mlp_only_layers"]) c.dense_layers.push_back(l.get<int64_t>());
  }
  c.validate();
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
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (destination, source)
  auto visit = [&](const std::string& name, torch::Tensor& dst) {
    const std::string file_name = hf_elara_tensor_name(name);
    if (file_name.empty()) {
      if (name.size() > 9 && name.compare(name.size() - 9, 9, "gate.bias") == 0)
        copies.emplace_back(dst, torch::zeros_like(dst));  // HF routers have no bias
      return;
    }
    if (!st.contains(file_name)) {
      missing.push_back(file_name);
      return;
    }
    unused.erase(file_name);
    auto src = st.tensor(file_name);
    if (src.sizes() != dst.sizes()) {
      bad_shape.push_back(file_name + " " + c10::str(src.sizes()) + " (model " +
                          c10::str(dst.sizes()) + ")");
      return;
    }
    copies.emplace_back(dst, src);
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
                      "], wrong shape [" + list(bad_shape) + "], unexpected [" +
                      list({unused.begin(), unused.end()}) + "]");
  }
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src.to(dst.dtype()));
  model->eval();
  return model;
}

namespace {

// `elarin encode` over Llama / Qwen2 / Qwen2-MoE as an Elara model: hidden, logits.
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
