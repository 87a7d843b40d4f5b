// Llama-family and Qwen checkpoints as Elara models against the Hugging Face fixtures
// llama-tiny and qwen2moe-tiny, and those that appear later under the names listed below
// (llama3-tiny, qwen3-tiny, ...; each skipped with a message while absent): logits and every
// hidden state within 1e-4, greedy ids exact, KV-cache decoding = full forward;
// `elarin encode` / `elarin sample` on each; config errors.
#include "elarin/models/hf/llama.hpp"

#include <gtest/gtest.h>
#include <cctype>
#include <nlohmann/json.hpp>

#include "cli/run_binary.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/models/elara/generate.hpp"
#include "fixture_util.hpp"

namespace {

using elarin::test::check_tensor;
constexpr double kTol = 1e-4;

class FixturesElaraHf : public ::testing::TestWithParam<const char*> {
 protected:
  std::string dir;
  std::map<std::string, torch::Tensor> inputs, expected;
  void SetUp() override {
    if (!elarin::test::find_fixture(GetParam(), &dir)) GTEST_SKIP() << dir;
    inputs = elarin::SafeTensors::open(dir + "/inputs.safetensors").tensors();
    expected = elarin::SafeTensors::open(dir + "/expected.safetensors").tensors();
  }
};

TEST_P(FixturesElaraHf, LogitsAndEveryHiddenStateMatch) {
  auto lm = elarin::load_hf_elara(dir);
  torch::NoGradGuard no_grad;
  auto out = lm->forward(inputs.at("input_ids"), nullptr, /*keep_hidden_states=*/true);
  EXPECT_TRUE(check_tensor("logits", out.logits, expected.at("logits"), kTol));
  const int64_t n_layer = lm->config().n_layer;
  ASSERT_EQ(out.hidden_states.size(), size_t(n_layer + 1));
  for (int64_t i = 0; i <= n_layer; ++i) {
    const std::string name = "hidden_" + std::to_string(i);
    EXPECT_TRUE(check_tensor(name, out.hidden_states[i], expected.at(name), kTol));
  }
}

TEST_P(FixturesElaraHf, GreedyIdsMatchExactlyAndTheCacheEqualsTheFullForward) {
  auto lm = elarin::load_hf_elara(dir);
  const auto prompt = inputs.at("prompt_ids");
  const auto want = expected.at("greedy_ids").to(torch::kLong);
  elarin::models::GenerateOptions o;
  o.temperature = 0;
  o.max_new_tokens = want.size(1) - prompt.size(1);
  auto got = elarin::models::generate(lm, prompt, o);
  EXPECT_TRUE(torch::equal(got, want)) << "got  " << got << "\nwant " << want;
  // The cached decode's last-step logits equal a full forward of the whole sequence.
  torch::NoGradGuard no_grad;
  elarin::models::ElaraKVCache cache;
  lm->forward(got.narrow(1, 0, got.size(1) - 1), &cache);
  auto step = lm->forward(got.narrow(1, got.size(1) - 1, 1), &cache).logits.select(1, 0);
  auto full = lm->forward(got).logits.select(1, got.size(1) - 1);
  EXPECT_TRUE(check_tensor("cached last step", step, full, kTol));
}

TEST_P(FixturesElaraHf, EncodeAndSampleCommandsWork) {
  auto enc = elarin::test::run_elarin(
      {"encode", "--model", dir, "--ids", "1,2,3,4", "--output", "logits", "--json"});
  ASSERT_EQ(enc.code, 0) << enc.err_tail();
  auto je = nlohmann::json::parse(enc.last_line());
  auto lm = elarin::load_hf_elara(dir);
  EXPECT_EQ(je["shape"], nlohmann::json({1, 4, lm->config().vocab_size}));
  torch::NoGradGuard no_grad;
  auto ref = lm->forward(torch::tensor({{1, 2, 3, 4}}, torch::kLong)).logits.flatten();
  auto data = je["data"].get<std::vector<float>>();
  ASSERT_EQ(int64_t(data.size()), ref.numel());
  EXPECT_NEAR(data[100], ref[100].item<float>(), 1e-5);
  EXPECT_NEAR(data.back(), ref[-1].item<float>(), 1e-5);

  const auto prompt = inputs.at("prompt_ids");
  const auto want = expected.at("greedy_ids").to(torch::kLong);
  std::string ids;
  for (int64_t i = 0; i < prompt.size(1); ++i)
    ids += (i ? "," : "") + std::to_string(prompt[0][i].item<int64_t>());
  auto s = elarin::test::run_elarin(
      {"sample", "--model", dir, "--ids", ids, "--temperature", "0", "--max_new_tokens",
       std::to_string(want.size(1) - prompt.size(1)), "--json"});
  ASSERT_EQ(s.code, 0) << s.err_tail();
  auto js = nlohmann::json::parse(s.last_line());
  std::vector<int64_t> w(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + want.numel());
  EXPECT_EQ(js["ids"].get<std::vector<int64_t>>(), w);
  auto bad = elarin::test::run_elarin({"sample", "--model", dir, "--ids", "1,99999"});
  EXPECT_EQ(bad.code, 2) << bad.err_tail();
  EXPECT_NE(bad.err.find("outside the vocabulary"), std::string::npos) << bad.err_tail();
}

// Fixture directories by name: config.json, model.safetensors, inputs.safetensors (input_ids,
// prompt_ids) and expected.safetensors (logits, hidden_0..hidden_L, greedy_ids), as
// README.json describes. A name not present yet is skipped.
INSTANTIATE_TEST_SUITE_P(
    LlamaAndQwen, FixturesElaraHf,
    ::testing::Values("llama-tiny", "qwen2moe-tiny", "llama3-tiny", "qwen3-tiny",
                      "qwen3moe-tiny", "smollm-tiny", "tinyllama-tiny"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      std::string name = info.param;
      for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return name;
    });

TEST(HfElaraConfig, MapsQwen2MoeAndRefusesWhatElaraCannotRun) {
  std::string dir;
  if (!elarin::test::find_fixture("qwen2moe-tiny", &dir)) GTEST_SKIP() << dir;
  auto c = elarin::hf_elara_config(elarin::HfConfig::load(dir));
  EXPECT_EQ(c.expert_count, 8);
  EXPECT_EQ(c.moe_top_k, 2);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_TRUE(c.shared_expert_gate);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.tie_embeddings);
  EXPECT_TRUE(c.is_moe_layer(0));
  EXPECT_FALSE(c.is_moe_layer(1));  // mlp_only_layers
  EXPECT_EQ(elarin::hf_elara_tensor_name("layers.2.moe.routed.5.up_proj.weight"),
            "model.layers.2.mlp.experts.5.up_proj.weight");
  EXPECT_EQ(elarin::hf_elara_tensor_name("layers.0.moe.shared.0.down_proj.weight"),
            "model.layers.0.mlp.shared_expert.down_proj.weight");
  EXPECT_EQ(elarin::hf_elara_tensor_name("layers.0.moe.gate.bias"), "");
  auto json = nlohmann::json::parse(R"({"model_type": "llama", "vocab_size": 10,
      "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
      "intermediate_size": 16, "max_position_embeddings": 8, "hidden_act": "gelu"})");
  EXPECT_THROW(elarin::hf_elara_config(elarin::HfConfig::from_json(json, "t")),
               elarin::FormatError);
  json["hidden_act"] = "silu";
  json["rope_scaling"] = {{"type", "yarn"}, {"factor", 2.0}};
  EXPECT_THROW(elarin::hf_elara_config(elarin::HfConfig::from_json(json, "t")),
               elarin::FormatError);
  json["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};  // supported since
  EXPECT_EQ(elarin::hf_elara_config(elarin::HfConfig::from_json(json, "t")).rope_scaling.factor,
            2.0);
  json["model_type"] = "mistral";
  EXPECT_THROW(elarin::hf_elara_config(elarin::HfConfig::from_json(json, "t")),
               elarin::UsageError);
}

}  // namespace
