// CLIP vision (`ClipVisionTower`) against the Hugging Face fixture clip-vision-tiny:
// last_hidden_state and image_embeds, and the `elarin encode` handle over it.
#include "elarin/models/hf/clip_vision.hpp"

#include <gtest/gtest.h>

#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/models/hf/loader.hpp"
#include "fixture_util.hpp"

namespace {

using elarin::test::check_tensor;
constexpr double kTol = 1e-4;

struct FixturesClipVision : ::testing::Test {
  std::string dir;
  std::map<std::string, torch::Tensor> inputs, expected;

  void SetUp() override {
    if (!elarin::test::find_fixture("clip-vision-tiny", &dir)) GTEST_SKIP() << dir;
    inputs = elarin::SafeTensors::open(dir + "/inputs.safetensors").tensors();
    expected = elarin::SafeTensors::open(dir + "/expected.safetensors").tensors();
  }
};

TEST_F(FixturesClipVision, LastHiddenStateAndImageEmbedsMatch) {
  auto tower = elarin::load_clip_vision_tower(dir);
  torch::NoGradGuard no_grad;
  elarin::CLIPVisionOutput out = tower->forward(inputs.at("pixel_values"), /*keep_hidden=*/true);
  EXPECT_TRUE(check_tensor("last_hidden_state", out.last_hidden_state,
                           expected.at("last_hidden_state"), kTol));
  EXPECT_TRUE(check_tensor("image_embeds", out.image_embeds, expected.at("image_embeds"), kTol));
  ASSERT_EQ(out.hidden.size(), size_t(tower->config().num_hidden_layers + 1));
  EXPECT_TRUE(torch::equal(out.hidden.back(), out.last_hidden_state));
}

TEST_F(FixturesClipVision, EncodeHandlePooledIsImageEmbeds) {
  auto model = elarin::load_hf_model(dir);
  EXPECT_EQ(model->architecture(), "clip_vision");
  EXPECT_EQ(model->input_name(), "pixel_values");
  EXPECT_EQ(model->input_shape(), (std::vector<int64_t>{-1, 3, 32, 32}));
  EXPECT_EQ(model->outputs(), (std::vector<std::string>{"pooled", "hidden"}));
  EXPECT_EQ(model->output_size("pooled"), 32);
  const torch::Tensor pixels = inputs.at("pixel_values");
  EXPECT_TRUE(check_tensor("encode pooled", model->encode(pixels), expected.at("image_embeds"), kTol));
  EXPECT_TRUE(check_tensor("encode hidden --layer 2", model->encode(pixels, {"hidden", 2}),
                           expected.at("last_hidden_state"), kTol));
  EXPECT_THROW(model->encode(pixels, {"pooled", 1}), elarin::UsageError);
  EXPECT_THROW(model->encode(pixels, {"logits"}), elarin::UsageError);
}

TEST_F(FixturesClipVision, WrongImageSizeIsAUsageErrorNamingTheExpectedShape) {
  auto tower = elarin::load_clip_vision_tower(dir);
  try {
    tower->forward(torch::zeros({1, 3, 64, 64}));
    ADD_FAILURE() << "a 64x64 image was accepted by a 32x32 model";
  } catch (const elarin::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("(B, 3, 32, 32)"), std::string::npos) << e.what();
  }
}

}  // namespace
