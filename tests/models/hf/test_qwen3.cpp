// Qwen3 checkpoints as Elara models: per-head q/k RMSNorm before RoPE and head_dim apart from
// hidden_size / heads, in one attention layer against plain torch ops (1e-5) and in a whole
// 2-layer checkpoint written here against Hugging Face's forward re-implemented in the test
// (1e-4), tied or not; greedy decoding, `elarin encode` and `elarin sample` on it; a missing
// q_norm is named; Qwen3-MoE and the Qwen3-0.6B config map as Hugging Face builds them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "cli/run_binary.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/models/elara/generate.hpp"
#include "elarin/models/hf/llama.hpp"
#include "fixture_util.hpp"
#include "models/hf/hf_reference.hpp"
#include "test_util.hpp"

namespace {

using elarin::test::check_tensor;
using elarin::test::HfTinyLm;
using elarin::test::TempDir;

// One ElaraAttention of a Qwen3-shaped config against Qwen3Attention written out with tensor
// ops: q/k projected, viewed as heads, RMS-normed over head_dim, then rotated.
TEST(Qwen3Attention, NormsEachHeadBeforeRopeWithAWiderHeadDim) {
  elarin::models::ElaraConfig c;
  c.n_embd = 24;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.head_size = 10;  // q_proj 24 -> 40, o_proj 40 -> 24
  c.qk_norm = true;
  c.norm_eps = 1e-6;
  c.rope_theta = 1000.0;
  c.block_size = 32;
  torch::manual_seed(5);
  elarin::models::ElaraAttention attn(c);
  attn->eval();
  ASSERT_EQ(attn->q_proj->weight.sizes(), torch::IntArrayRef({40, 24}));
  ASSERT_EQ(attn->o_proj->weight.sizes(), torch::IntArrayRef({24, 40}));
  ASSERT_EQ(attn->q_norm->weight.sizes(), torch::IntArrayRef({10}));
  torch::NoGradGuard no_grad;
  attn->q_norm->weight.copy_(1 + 0.3 * torch::randn({10}));
  attn->k_norm->weight.copy_(1 + 0.3 * torch::randn({10}));
  auto x = torch::randn({2, 7, 24});

  const int64_t B = 2, T = 7, H = 4, G = 2, D = 10;
  auto rms = [&](const torch::Tensor& v, const torch::Tensor& w) {
    return w * (v * torch::rsqrt(v.pow(2).mean(-1, true) + 1e-6));
  };
  auto q = rms(torch::matmul(x, attn->q_proj->weight.t()).view({B, T, H, D}), attn->q_norm->weight)
               .transpose(1, 2);
  auto k = rms(torch::matmul(x, attn->k_proj->weight.t()).view({B, T, G, D}), attn->k_norm->weight)
               .transpose(1, 2);
  auto v = torch::matmul(x, attn->v_proj->weight.t()).view({B, T, G, D}).transpose(1, 2);
  auto inv = 1.0 / torch::pow(1000.0, torch::arange(0, D, 2, torch::kDouble) / double(D));
  auto ang = torch::outer(torch::arange(T, torch::kDouble), inv).to(torch::kFloat);
  auto cos = torch::cat({ang, ang}, -1).cos(), sin = torch::cat({ang, ang}, -1).sin();
  auto rot = [&](const torch::Tensor& t) {
    return t * cos + torch::cat({-t.narrow(-1, D / 2, D / 2), t.narrow(-1, 0, D / 2)}, -1) * sin;
  };
  q = rot(q);
  k = rot(k).repeat_interleave(H / G, 1);
  v = v.repeat_interleave(H / G, 1);
  auto s = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(D));
  s = s.masked_fill(torch::ones({T, T}, torch::kBool).triu(1), -INFINITY);
  auto y = torch::matmul(torch::softmax(s, -1), v).transpose(1, 2).reshape({B, T, H * D});
  auto want = torch::matmul(y, attn->o_proj->weight.t());  // (B, T, 24)

  EXPECT_TRUE(check_tensor("fused path", attn->forward(x, 0), want, 1e-5));
  EXPECT_TRUE(check_tensor("reference path", attn->reference(x, 0), want, 1e-5));
  torch::Tensor key, value;  // cached: 4 positions, then 3 more
  auto first = attn->forward(x.narrow(1, 0, 4), 0, &key, &value);
  auto rest = attn->forward(x.narrow(1, 4, 3), 4, &key, &value);
  EXPECT_TRUE(check_tensor("cached path", torch::cat({first, rest}, 1), want, 1e-5));
  // The norms matter: with unit gains and the norm applied after RoPE instead, it differs.
  auto q_after = rot(torch::matmul(x, attn->q_proj->weight.t()).view({B, T, H, D}).transpose(1, 2));
  EXPECT_GT((rms(q_after, attn->q_norm->weight) - q).abs().max().item<double>(), 1e-2);
}

struct Qwen3Dir {
  TempDir dir;
  HfTinyLm lm;
  explicit Qwen3Dir(bool tied, uint64_t seed = 11) {
    lm.config["tie_word_embeddings"] = tied;
    lm.randomize(seed);
    lm.write(dir.path);
  }
};

TEST(Qwen3Checkpoint, LogitsMatchHuggingFacesForwardTiedOrNot) {
  for (bool tied : {false, true}) {
    Qwen3Dir q(tied);
    auto cfg = elarin::hf_elara_config(elarin::HfConfig::load(q.dir.path));
    EXPECT_EQ(cfg.head_dim(), 10);
    EXPECT_EQ(cfg.attn_width(), 40);
    EXPECT_TRUE(cfg.qk_norm);
    EXPECT_FALSE(cfg.qkv_bias || cfg.attention_bias);
    EXPECT_EQ(cfg.tie_embeddings, tied);
    auto model = elarin::load_hf_elara(q.dir.path);  // a tied file has no lm_head.weight
    torch::NoGradGuard no_grad;
    torch::manual_seed(2);
    auto ids = torch::randint(0, 67, {2, 13});
    auto want = q.lm.forward(ids);
    const std::string label = tied ? "qwen3 tied logits" : "qwen3 logits";
    EXPECT_TRUE(check_tensor(label, model->forward(ids).logits, want, 1e-4));
    // The cached path (reference attention) agrees too, token by token after a prompt.
    elarin::models::ElaraKVCache cache;
    auto head = model->forward(ids.narrow(1, 0, 9), &cache).logits;
    auto tail = model->forward(ids.narrow(1, 9, 4), &cache).logits;
    EXPECT_TRUE(check_tensor(label + " cached", torch::cat({head, tail}, 1), want, 1e-4));
  }
}

TEST(Qwen3Checkpoint, GreedyDecodingFollowsTheReference) {
  Qwen3Dir q(/*tied=*/true, 3);
  auto model = elarin::load_hf_elara(q.dir.path);
  elarin::models::GenerateOptions o;
  o.temperature = 0;
  o.max_new_tokens = 6;
  auto got = elarin::models::generate(model, torch::tensor({{5, 9, 2}}, torch::kLong), o);
  auto want = torch::tensor({{5, 9, 2}}, torch::kLong);
  for (int i = 0; i < 6; ++i) {
    auto next = q.lm.forward(want).select(1, want.size(1) - 1).argmax(-1, true);  // (1, 1)
    want = torch::cat({want, next}, 1);
  }
  EXPECT_TRUE(torch::equal(got, want)) << "got  " << got << "\nwant " << want;
}

TEST(Qwen3Checkpoint, EncodeAndSampleCommandsRunIt) {
  Qwen3Dir q(/*tied=*/true, 3);
  auto enc = elarin::test::run_elarin(
      {"encode", "--model", q.dir.path, "--ids", "1,2,3", "--output", "logits", "--json"});
  ASSERT_EQ(enc.code, 0) << enc.err_tail();
  auto je = nlohmann::json::parse(enc.last_line());
  EXPECT_EQ(je["shape"], nlohmann::json({1, 3, 67}));
  auto want = q.lm.forward(torch::tensor({{1, 2, 3}}, torch::kLong)).flatten();
  auto data = je["data"].get<std::vector<double>>();
  ASSERT_EQ(int64_t(data.size()), want.numel());
  EXPECT_TRUE(check_tensor("encode logits", torch::tensor(data, torch::kDouble), want, 1e-4));

  auto s = elarin::test::run_elarin({"sample", "--model", q.dir.path, "--ids", "5,9,2",
                                     "--temperature", "0", "--max_new_tokens", "4", "--json"});
  ASSERT_EQ(s.code, 0) << s.err_tail();
  auto ids = nlohmann::json::parse(s.last_line())["ids"].get<std::vector<int64_t>>();
  auto ref = torch::tensor({{5, 9, 2}}, torch::kLong);
  for (int i = 0; i < 4; ++i)
    ref = torch::cat({ref, q.lm.forward(ref).select(1, ref.size(1) - 1).argmax(-1, true)}, 1);
  EXPECT_EQ(ids, std::vector<int64_t>(ref.data_ptr<int64_t>(), ref.data_ptr<int64_t>() + 7));
}

TEST(Qwen3Checkpoint, MissingQNormIsNamed) {
  Qwen3Dir q(/*tied=*/false);
  q.lm.tensors.erase("model.layers.1.self_attn.q_norm.weight");
  q.lm.write(q.dir.path);
  auto msg =
      elarin::test::error_message<elarin::FormatError>([&] { elarin::load_hf_elara(q.dir.path); });
  EXPECT_NE(msg.find("missing [model.layers.1.self_attn.q_norm.weight]"), std::string::npos) << msg;
  // A Qwen2 config over Qwen3 weights: the norms are unexpected, and named.
  q.lm.randomize(11);
  q.lm.config["model_type"] = "qwen2";
  q.lm.config["qkv_bias"] = false;
  q.lm.write(q.dir.path);
  msg =
      elarin::test::error_message<elarin::FormatError>([&] { elarin::load_hf_elara(q.dir.path); });
  EXPECT_NE(msg.find("model.layers.0.self_attn.k_norm.weight"), std::string::npos) << msg;
}

TEST(Qwen3Config, MapsQwen3_0_6BAndCountsItsParameters) {
  // Qwen/Qwen3-0.6B config.json (the fields Elara reads, as published).
  auto json = nlohmann::json::parse(R"({"architectures": ["Qwen3ForCausalLM"],
    "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
    "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960,
    "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 16,
    "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
    "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
    "use_sliding_window": false, "vocab_size": 151936})");
  auto c = elarin::hf_elara_config(elarin::HfConfig::from_json(json, "Qwen3-0.6B"));
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.attn_width(), 2048);  // q_proj 1024 -> 2048
  EXPECT_TRUE(c.qk_norm);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_TRUE(c.rope_scaling.is_default());
  // 596,049,920: the count of Qwen3-0.6B's model.safetensors (tied head counted once).
  EXPECT_EQ(elarin::models::ElaraModelImpl::count_parameters(c).first, 596049920);
  json["use_sliding_window"] = true;
  auto msg = elarin::test::error_message<elarin::FormatError>(
      [&] { elarin::hf_elara_config(elarin::HfConfig::from_json(json, "Qwen3-0.6B")); });
  EXPECT_NE(msg.find("use_sliding_window"), std::string::npos) << msg;
}

// A 3-layer Qwen3-MoE (8 experts, top 3, renormalised; layer 1 dense by mlp_only_layers) from
// a checkpoint written here against Qwen3MoeForCausalLM re-implemented in the test.
TEST(Qwen3Checkpoint, MoeLogitsMatchHuggingFacesForward) {
  HfTinyLm lm;
  lm.config["model_type"] = "qwen3_moe";
  lm.config["architectures"] = {"Qwen3MoeForCausalLM"};
  lm.config["num_hidden_layers"] = 3;
  lm.config["num_experts"] = 8;
  lm.config["num_experts_per_tok"] = 3;
  lm.config["moe_intermediate_size"] = 12;
  lm.config["norm_topk_prob"] = true;
  lm.config["decoder_sparse_step"] = 1;
  lm.config["mlp_only_layers"] = {1};
  lm.randomize(23);
  ASSERT_EQ(lm.tensors.count("model.layers.1.mlp.gate_proj.weight"), 1u);
  ASSERT_EQ(lm.tensors.count("model.layers.2.mlp.experts.7.down_proj.weight"), 1u);
  TempDir dir;
  lm.write(dir.path);
  auto model = elarin::load_hf_elara(dir.path);
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  auto ids = torch::randint(0, 67, {2, 11});
  auto want = lm.forward(ids);
  EXPECT_TRUE(check_tensor("qwen3_moe logits", model->forward(ids).logits, want, 1e-4));
  // Without the renormalisation the reference moves: the flag is read, not assumed.
  lm.config["norm_topk_prob"] = false;
  EXPECT_GT((lm.forward(ids) - want).abs().max().item<double>(), 1e-3);
}

TEST(Qwen3Config, MapsQwen3MoeWithoutASharedExpert) {
  // Qwen/Qwen3-30B-A3B's config.json, trimmed to the keys that matter.
  auto json = nlohmann::json::parse(R"({"model_type": "qwen3_moe", "attention_bias": false,
    "decoder_sparse_step": 1, "head_dim": 128, "hidden_act": "silu", "hidden_size": 2048,
    "intermediate_size": 6144, "max_position_embeddings": 40960, "mlp_only_layers": [],
    "moe_intermediate_size": 768, "norm_topk_prob": true, "num_attention_heads": 32,
    "num_experts": 128, "num_experts_per_tok": 8, "num_hidden_layers": 48,
    "num_key_value_heads": 4, "rms_norm_eps": 1e-06, "rope_scaling": null,
    "rope_theta": 1000000.0, "tie_word_embeddings": false, "use_sliding_window": false,
    "vocab_size": 151936})");
  auto c = elarin::hf_elara_config(elarin::HfConfig::from_json(json, "Qwen3-30B-A3B"));
  EXPECT_EQ(c.expert_count, 128);
  EXPECT_EQ(c.moe_top_k, 8);
  EXPECT_EQ(c.expert_hidden, 768);
  EXPECT_EQ(c.shared_expert_count, 0);
  EXPECT_FALSE(c.shared_expert_gate);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_EQ(c.attn_width(), 4096);
  for (int64_t i : {0, 1, 47}) EXPECT_TRUE(c.is_moe_layer(i)) << i;
  json["mlp_only_layers"] = {0, 2};
  json["decoder_sparse_step"] = 2;
  c = elarin::hf_elara_config(elarin::HfConfig::from_json(json, "Qwen3-30B-A3B"));
  EXPECT_FALSE(c.is_moe_layer(0));  // sparse step 2: layers 1, 3, 5, ...
  EXPECT_TRUE(c.is_moe_layer(1));
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_TRUE(c.is_moe_layer(3));
}

}  // namespace
