// Whisper encoder (`WhisperEncoder`) against the Hugging Face fixture whisper-encoder-tiny:
// encoder_last_hidden_state, loading only the encoder's tensors, and the encode handle.
#include "elarin/models/hf/whisper_encoder.hpp"

#include <gtest/gtest.h>

#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/models/hf/loader.hpp"
#include "fixture_util.hpp"

namespace {

using elarin::test::check_tensor;
constexpr double kTol = 1e-4;

struct FixturesWhisperEncoder : ::testing::Test {
  std::string dir;
  std::map<std::string, torch::Tensor> inputs, expected;

  void SetUp() override {
    if (!elarin::test::find_fixture("whisper-encoder-tiny", &dir)) GTEST_SKIP() << dir;
    inputs = elarin::SafeTensors::open(dir + "/inputs.safetensors").tensors();
    expected = elarin::SafeTensors::open(dir + "/expected.safetensors").tensors();
  }
};

TEST_F(FixturesWhisperEncoder, EncoderLastHiddenStateMatches) {
  auto cochlea = elarin::load_whisper_encoder(dir);
  torch::NoGradGuard no_grad;
  elarin::WhisperEncoderOutput out = cochlea->forward(inputs.at("input_features"), true);
  EXPECT_TRUE(check_tensor("encoder_last_hidden_state", out.last,
                           expected.at("encoder_last_hidden_state"), kTol));
  ASSERT_EQ(out.hidden.size(), size_t(cochlea->config().encoder_layers + 1));
  EXPECT_TRUE(torch::equal(out.hidden.back(), out.last));
}

TEST_F(FixturesWhisperEncoder, LoadsEveryEncoderTensorAndNoDecoderOne) {
  auto cochlea = elarin::load_whisper_encoder(dir);
  const auto st = elarin::SafeTensors::open(dir + "/model.safetensors");
  size_t encoder_tensors = 0;
  for (const auto& name : st.names()) encoder_tensors += name.rfind("encoder.", 0) == 0;
  const auto params = cochlea->named_parameters();
  EXPECT_EQ(params.size() + cochlea->named_buffers().size(), encoder_tensors);
  for (const auto& item : params) {
    EXPECT_TRUE(torch::equal(item.value(), st.tensor("encoder." + item.key()))) << item.key();
  }
}

TEST_F(FixturesWhisperEncoder, EncodeHandlePooledIsMeanOverFrames) {
  auto model = elarin::load_hf_model(dir);
  EXPECT_EQ(model->architecture(), "whisper_encoder");
  EXPECT_EQ(model->input_shape(), (std::vector<int64_t>{-1, 16, 100}));
  const torch::Tensor features = inputs.at("input_features");
  const torch::Tensor want = expected.at("encoder_last_hidden_state");
  EXPECT_TRUE(check_tensor("encode hidden", model->encode(features, {"hidden"}), want, kTol));
  EXPECT_TRUE(check_tensor("encode pooled", model->encode(features), want.mean(1), kTol));
  EXPECT_EQ(model->encode(features, {"hidden", 0}).sizes(), want.sizes());
}

TEST_F(FixturesWhisperEncoder, TooManyFramesIsAUsageError) {
  auto cochlea = elarin::load_whisper_encoder(dir);
  EXPECT_THROW(cochlea->forward(torch::zeros({1, 16, 102})), elarin::UsageError);
  EXPECT_THROW(cochlea->forward(torch::zeros({1, 80, 100})), elarin::UsageError);
}

}  // namespace
