// Llama-family config.json files as Elara configs, without weights: Llama 3.2 1B and 3.1 8B
// (llama3 RoPE scaling, tied 1B head, eos lists), TinyLlama 1.1B (22 layers, 4 kv heads),
// SmolLM2 135M / 1.7B (tied, rope_theta 100000 / 130000) map as Hugging Face builds them,
// parameter counts equal to the published checkpoints'; a tiny Llama 3 checkpoint with
// llama3 scaling, attention_bias and a tied head written here matches Hugging Face's forward
// re-implemented in the test (1e-4); what Elara cannot run is refused by key and value.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "elarin/core/errors.hpp"
#include "elarin/models/hf/llama.hpp"
#include "fixture_util.hpp"
#include "models/hf/hf_reference.hpp"
#include "test_util.hpp"

namespace {

using elarin::test::check_tensor;
using elarin::test::error_message;

elarin::models::ElaraConfig map(const std::string& json, const std::string& name) {
  return elarin::hf_elara_config(elarin::HfConfig::parse(json, name));
}

int64_t total_parameters(const elarin::models::ElaraConfig& c) {
  return elarin::models::ElaraModelImpl::count_parameters(c).first;
}

// meta-llama/Llama-3.2-1B config.json.
const char* kLlama32_1B = R"({"architectures": ["LlamaForCausalLM"], "attention_bias": false,
  "attention_dropout": 0.0, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
  "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
  "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
  "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";

TEST(LlamaConfig, Llama32_1BIsTiedWithLlama3Scaling) {
  auto c = map(kLlama32_1B, "Llama-3.2-1B");
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(c.head_dim(), 64);
  EXPECT_EQ(c.head_size, 0);  // 2048 / 32 already
  EXPECT_EQ(c.kv_heads(), 8);
  EXPECT_EQ(c.block_size, 131072);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.attention_bias || c.qkv_bias || c.qk_norm);
  EXPECT_EQ(total_parameters(c), 1235814400);  // Llama-3.2-1B's published count
}

TEST(LlamaConfig, Llama31_8BInTheNewRopeParametersForm) {
  // meta-llama/Llama-3.1-8B as transformers 5 writes it: rope_theta inside rope_parameters.
  auto c = map(R"({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "vocab_size": 128256,
    "tie_word_embeddings": false, "eos_token_id": 128001,
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192}})",
               "Llama-3.1-8B");
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_FALSE(c.tie_embeddings);
  EXPECT_EQ(c.ffn_width(), 14336);
}

TEST(LlamaConfig, TinyLlamaHas22LayersAnd4KvHeads) {
  // TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json.
  auto c = map(R"({"architectures": ["LlamaForCausalLM"], "attention_bias": false,
    "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 2048,
    "initializer_range": 0.02, "intermediate_size": 5632, "max_position_embeddings": 2048,
    "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 22,
    "num_key_value_heads": 4, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
    "rope_scaling": null, "rope_theta": 10000.0, "tie_word_embeddings": false,
    "torch_dtype": "bfloat16", "transformers_version": "4.35.0", "use_cache": true,
    "vocab_size": 32000})",
               "TinyLlama-1.1B");
  EXPECT_EQ(c.n_layer, 22);
  EXPECT_EQ(c.n_head, 32);
  EXPECT_EQ(c.kv_heads(), 4);
  EXPECT_EQ(c.head_dim(), 64);
  EXPECT_FALSE(c.tie_embeddings);
  EXPECT_TRUE(c.rope_scaling.is_default());
  EXPECT_EQ(total_parameters(c), 1100048384);  // TinyLlama-1.1B's published count
}

TEST(LlamaConfig, SmolLM2IsTiedWithItsOwnRopeTheta) {
  // HuggingFaceTB/SmolLM2-135M config.json.
  auto small = map(R"({"architectures": ["LlamaForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu",
    "hidden_size": 576, "initializer_range": 0.041666666666666664, "intermediate_size": 1536,
    "is_llama_config": true, "max_position_embeddings": 8192, "model_type": "llama",
    "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3,
    "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_interleaved": false,
    "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
    "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true,
    "vocab_size": 49152})",
                   "SmolLM2-135M");
  EXPECT_TRUE(small.tie_embeddings);
  EXPECT_EQ(small.rope_theta, 100000.0);
  EXPECT_EQ(small.head_dim(), 64);
  EXPECT_EQ(small.kv_heads(), 3);
  EXPECT_EQ(total_parameters(small), 134515008);  // SmolLM2-135M's published count
  // HuggingFaceTB/SmolLM2-1.7B: 32 heads of 64, no GQA, rope_theta 130000.
  auto large = map(R"({"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192,
    "max_position_embeddings": 8192, "num_attention_heads": 32, "num_hidden_layers": 24,
    "num_key_value_heads": 32, "rms_norm_eps": 1e-05, "rope_scaling": null,
    "rope_theta": 130000, "tie_word_embeddings": true, "vocab_size": 49152})",
                   "SmolLM2-1.7B");
  EXPECT_EQ(large.rope_theta, 130000.0);
  EXPECT_EQ(large.kv_heads(), 32);
  EXPECT_TRUE(large.tie_embeddings);
}

TEST(LlamaConfig, RefusesWhatElaraCannotRunByKeyAndValue) {
  auto json = nlohmann::json::parse(kLlama32_1B);
  auto refused = [&](const std::string& part) {
    auto msg = error_message<elarin::FormatError>(
        [&] { elarin::hf_elara_config(elarin::HfConfig::from_json(json, "cfg")); });
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  json["rope_scaling"]["rope_type"] = "yarn";
  refused(
      "'rope_scaling.rope_type' is 'yarn': RoPE scaling types supported are default, "
      "linear, llama3");
  json["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  refused("'rope_scaling.type' is 'dynamic'");
  json["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  refused("missing key 'rope_scaling.low_freq_factor'");
  json["rope_scaling"] = {{"rope_type", "llama3"},
                          {"factor", 8.0},
                          {"low_freq_factor", 4.0},
                          {"high_freq_factor", 1.0},
                          {"original_max_position_embeddings", 8192}};
  refused("rope_scaling.high_freq_factor: got 1");
  json["rope_scaling"] = nullptr;
  json["partial_rotary_factor"] = 0.5;
  refused("partial_rotary_factor = 0.5");
  json.erase("partial_rotary_factor");
  json["mlp_bias"] = true;
  refused("mlp_bias = true");
  json["mlp_bias"] = false;
  json["hidden_act"] = "gelu";
  refused("hidden_act = 'gelu'");
  json["hidden_act"] = "silu";
  json["model_type"] = "mistral";
  auto msg = error_message<elarin::UsageError>(
      [&] { elarin::hf_elara_config(elarin::HfConfig::from_json(json, "cfg")); });
  EXPECT_NE(msg.find("llama, qwen2, qwen2_moe, qwen3, qwen3_moe"), std::string::npos) << msg;
}

// A 2-layer Llama 3 with llama3 scaling whose bands all fall within 24 positions
// (original_max_position_embeddings 256: wavelengths < 32 kept, > 256 scaled, 62.8 between),
// biases on q/k/v/o and a tied head stored without lm_head.weight.
TEST(LlamaCheckpoint, Llama3ScaledBiasedTiedMatchesHuggingFacesForward) {
  elarin::test::HfTinyLm lm;
  lm.config["architectures"] = {"LlamaForCausalLM"};
  lm.config["model_type"] = "llama";
  lm.config["hidden_size"] = 32;
  lm.config["head_dim"] = 8;
  lm.config["rope_theta"] = 10000.0;
  lm.config["rope_scaling"] = {{"rope_type", "llama3"},
                               {"factor", 8.0},
                               {"low_freq_factor", 1.0},
                               {"high_freq_factor", 8.0},
                               {"original_max_position_embeddings", 256}};
  lm.config["attention_bias"] = true;
  lm.config["tie_word_embeddings"] = true;
  lm.randomize(17);
  ASSERT_EQ(lm.tensors.count("lm_head.weight"), 0u);
  elarin::test::TempDir dir;
  lm.write(dir.path);
  auto model = elarin::load_hf_elara(dir.path);
  ASSERT_EQ(model->config().head_dim(), 8);
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  auto ids = torch::randint(0, 67, {2, 24});
  auto want = lm.forward(ids);
  EXPECT_TRUE(check_tensor("llama3 logits", model->forward(ids).logits, want, 1e-4));
  // The scaling is what makes it match: the same weights with plain RoPE do not.
  lm.config["rope_scaling"] = nullptr;
  EXPECT_GT((lm.forward(ids) - want).abs().max().item<double>(), 1e-3);
}

}  // namespace
