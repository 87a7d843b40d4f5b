// GPT-2 against the Hugging Face fixture gpt2-tiny: logits, every hidden state, greedy ids,
// the KV cache against a no-cache loop, the first N blocks as an encoder and the `elarin encode`
// handle.
#include "elarin/models/hf/gpt2.hpp"

#include <gtest/gtest.h>

#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/models/hf/loader.hpp"
#include "fixture_util.hpp"

namespace {

using elarin::test::check_tensor;
constexpr double kTol = 1e-4;

struct FixturesGpt2 : ::testing::Test {
  std::string dir;
  std::map<std::string, torch::Tensor> inputs, expected;

  void SetUp() override {
    if (!elarin::test::find_fixture("gpt2-tiny", &dir)) GTEST_SKIP() << dir;
    inputs = elarin::SafeTensors::open(dir + "/inputs.safetensors").tensors();
    expected = elarin::SafeTensors::open(dir + "/expected.safetensors").tensors();
  }
};

TEST_F(FixturesGpt2, LogitsAndEveryHiddenStateMatch) {
  auto model = elarin::load_gpt2_lm_head_model(dir);
  torch::NoGradGuard no_grad;
  elarin::GPT2LMOutput out = model->forward_full(inputs.at("input_ids"));
  EXPECT_TRUE(check_tensor("logits", out.logits, expected.at("logits"), kTol));
  const int64_t n_layer = model->config().n_layer;
  ASSERT_EQ(out.hidden.size(), size_t(n_layer + 1));
  for (int64_t i = 0; i <= n_layer; ++i) {
    const std::string name = "hidden_" + std::to_string(i);
    ASSERT_TRUE(expected.count(name)) << name << " missing from expected.safetensors";
    EXPECT_TRUE(check_tensor(name, out.hidden[i], expected.at(name), kTol));
  }
}

TEST_F(FixturesGpt2, GreedyIdsMatchExactly) {
  auto model = elarin::load_gpt2_lm_head_model(dir);
  const torch::Tensor prompt = inputs.at("prompt_ids");                      // (1, T0)
  const torch::Tensor want = expected.at("greedy_ids").to(torch::kLong);     // (1, T0 + n)
  const int64_t n_new = want.size(1) - prompt.size(1);
  const torch::Tensor got = model->greedy_generate(prompt, n_new);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_TRUE(torch::equal(got, want)) << "got  " << got << "\nwant " << want;
}

TEST_F(FixturesGpt2, KvCacheGenerationEqualsNoCacheLoop) {
  auto model = elarin::load_gpt2_lm_head_model(dir);
  torch::NoGradGuard no_grad;
  const torch::Tensor prompt = inputs.at("prompt_ids");
  const int64_t n_new = 20;
  const torch::Tensor cached = model->greedy_generate(prompt, n_new);

  // Reference: re-run the whole sequence every step, no cache.
  torch::Tensor seq = prompt.clone();
  elarin::GPT2KVCache cache;
  torch::Tensor step_logits = model->forward_full(prompt, &cache, false).logits;
  double worst = 0.0;
  for (int64_t i = 0; i < n_new; ++i) {
    const torch::Tensor full = model->forward(seq);  // (1, T, V)
    worst = std::max(worst, (full.select(1, -1) - step_logits.select(1, -1)).abs().max().item<double>());
    const torch::Tensor next = full.select(1, -1).argmax(-1, true);  // (1, 1)
    seq = torch::cat({seq, next}, 1);
    step_logits = model->forward_full(next, &cache, false).logits;
  }
  std::printf("  cached vs full-sequence last-step logits: max abs diff %.3e\n", worst);
  EXPECT_LE(worst, kTol);
  EXPECT_EQ(cache.length(), prompt.size(1) + n_new);
  EXPECT_TRUE(torch::equal(cached, seq)) << "cached " << cached << "\nno-cache " << seq;
}

TEST_F(FixturesGpt2, GenerationPastContextIsAUsageError) {
  auto model = elarin::load_gpt2_lm_head_model(dir);
  const int64_t n_positions = model->config().n_positions;
  EXPECT_THROW(model->greedy_generate(inputs.at("prompt_ids"), n_positions), elarin::UsageError);
  EXPECT_THROW(model->forward(torch::full({1, 3}, model->config().vocab_size, torch::kLong)),
               elarin::UsageError);
}

// The encoder of the first N blocks (a decapitated GPT-2): hidden state and pooled mean.
TEST_F(FixturesGpt2, EncodeAtBlockNReturnsItsHiddenStateAndMean) {
  auto model = elarin::load_hf_model(dir);
  const torch::Tensor ids = inputs.at("input_ids");
  for (int64_t n : {1, 2, 4}) {
    const torch::Tensor& want = expected.at("hidden_" + std::to_string(n));
    EXPECT_TRUE(
        check_tensor("hidden_" + std::to_string(n), model->encode(ids, {"hidden", n}), want, kTol));
    EXPECT_TRUE(check_tensor("pooled_" + std::to_string(n), model->encode(ids, {"pooled", n}),
                             want.mean(1), kTol));
  }
}

TEST_F(FixturesGpt2, MaskedPoolingEqualsPoolingTheUnpaddedPrefix) {
  auto model = elarin::load_hf_model(dir);
  const torch::Tensor ids = inputs.at("input_ids");  // (2, 16)
  torch::Tensor mask = torch::ones_like(ids);
  mask[0].slice(0, 10).zero_();  // row 0: 10 real tokens, then padding
  const torch::Tensor padded = model->encode(ids, {"pooled", 3, mask});
  const torch::Tensor prefix = model->encode(ids.slice(0, 0, 1).slice(1, 0, 10), {"pooled", 3});
  EXPECT_TRUE(check_tensor("masked pooled row 0", padded.slice(0, 0, 1), prefix, kTol));
}

TEST_F(FixturesGpt2, EncodeHandleExposesOutputsAndLayers) {
  auto model = elarin::load_hf_model(dir);
  EXPECT_EQ(model->architecture(), "gpt2");
  EXPECT_EQ(model->input_name(), "input_ids");
  EXPECT_EQ(model->outputs(), (std::vector<std::string>{"pooled", "hidden", "logits"}));
  EXPECT_EQ(model->layer_count(), 4);
  EXPECT_EQ(model->output_size("logits"), 512);
  const torch::Tensor ids = inputs.at("input_ids");
  EXPECT_TRUE(check_tensor("encode logits", model->encode(ids, {"logits"}), expected.at("logits"), kTol));
  EXPECT_TRUE(check_tensor("encode hidden --layer 2", model->encode(ids, {"hidden", 2}),
                           expected.at("hidden_2"), kTol));
  EXPECT_TRUE(check_tensor("encode hidden --layer -1", model->encode(ids, {"hidden", -1}),
                           expected.at("hidden_4"), kTol));
  EXPECT_TRUE(check_tensor("encode pooled", model->encode(ids), expected.at("hidden_4").mean(1), kTol));
  EXPECT_THROW(model->encode(ids, {"hidden", 5}), elarin::UsageError);
  EXPECT_THROW(model->encode(ids, {"logits", 1}), elarin::UsageError);
  try {
    model->encode(ids, {"image_embeds"});
    ADD_FAILURE() << "unknown output accepted";
  } catch (const elarin::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("pooled, hidden, logits"), std::string::npos) << e.what();
  }
}

}  // namespace
