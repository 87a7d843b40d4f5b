// `elarin encode` end to end on the Hugging Face fixtures: the printed JSON must equal
// the expected tensors within 1e-4.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/run_binary.hpp"
#include "elarin/core/safetensors.hpp"
#include "fixture_util.hpp"

namespace {

using elarin::test::check_tensor;
using elarin::test::find_fixture;
using elarin::test::run_elarin;

torch::Tensor json_tensor(const std::string& line) {
  auto j = nlohmann::json::parse(line);
  auto shape = j.at("shape").get<std::vector<int64_t>>();
  auto data = j.at("data").get<std::vector<float>>();
  return torch::tensor(data).view(shape);
}

std::string ids_arg(const torch::Tensor& ids) {
  std::string s;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    for (int64_t t = 0; t < ids.size(1); ++t) {
      s += (t ? "," : (b ? ";" : "")) + std::to_string(ids[b][t].item<int64_t>());
    }
  }
  return s;
}

TEST(FixturesEncode, Gpt2LogitsAndHiddenStates) {
  std::string dir;
  if (!find_fixture("gpt2-tiny", &dir)) GTEST_SKIP() << dir;
  auto inputs = elarin::SafeTensors::open(dir + "/inputs.safetensors");
  auto expected = elarin::SafeTensors::open(dir + "/expected.safetensors");
  const std::string ids = ids_arg(inputs.tensor("input_ids"));
  auto r = run_elarin({"encode", "--model", dir, "--ids", ids, "--output", "logits", "--json"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_TRUE(
      check_tensor("encode logits", json_tensor(r.last_line()), expected.tensor("logits"), 1e-4));
  for (int layer = 0; layer <= 4; ++layer) {
    auto h = run_elarin({"encode", "--model", dir, "--ids", ids, "--output", "hidden", "--layer",
                         std::to_string(layer), "--json"});
    ASSERT_EQ(h.code, 0) << h.err_tail();
    const std::string name = "hidden_" + std::to_string(layer);
    EXPECT_TRUE(
        check_tensor("encode " + name, json_tensor(h.last_line()), expected.tensor(name), 1e-4));
  }
  // pooled = mean over tokens of the last hidden state
  auto p = run_elarin({"encode", "--model", dir, "--ids", ids, "--json"});
  ASSERT_EQ(p.code, 0) << p.err_tail();
  EXPECT_TRUE(check_tensor("encode pooled", json_tensor(p.last_line()),
                           expected.tensor("hidden_4").mean(1), 1e-4));
}

TEST(FixturesEncode, ClipImageEmbedsFromFeaturesFile) {
  std::string dir;
  if (!find_fixture("clip-vision-tiny", &dir)) GTEST_SKIP() << dir;
  auto expected = elarin::SafeTensors::open(dir + "/expected.safetensors");
  auto r =
      run_elarin({"encode", "--model", dir, "--features", dir + "/inputs.safetensors", "--json"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_TRUE(check_tensor("encode image_embeds", json_tensor(r.last_line()),
                           expected.tensor("image_embeds"), 1e-4));
  auto h = run_elarin({"encode", "--model", dir, "--features", dir + "/inputs.safetensors",
                       "--output", "hidden", "--json"});
  ASSERT_EQ(h.code, 0) << h.err_tail();
  EXPECT_TRUE(check_tensor("encode last_hidden_state", json_tensor(h.last_line()),
                           expected.tensor("last_hidden_state"), 1e-4));
  // A model that takes pixels refuses token ids with a usage error.
  auto bad = run_elarin({"encode", "--model", dir, "--ids", "1,2"});
  EXPECT_EQ(bad.code, 2) << bad.err_tail();
  EXPECT_NE(bad.err.find("pixel_values"), std::string::npos) << bad.err_tail();
}

TEST(FixturesEncode, WhisperEncoderFromFeaturesFile) {
  std::string dir;
  if (!find_fixture("whisper-encoder-tiny", &dir)) GTEST_SKIP() << dir;
  auto expected = elarin::SafeTensors::open(dir + "/expected.safetensors");
  auto r = run_elarin({"encode", "--model", dir, "--features", dir + "/inputs.safetensors",
                       "--output", "hidden", "--json"});
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_TRUE(check_tensor("encode encoder_last_hidden_state", json_tensor(r.last_line()),
                           expected.tensor("encoder_last_hidden_state"), 1e-4));
}

TEST(FixturesEncode, GptTextWithoutTokenizerIsAUsageError) {
  std::string dir;
  if (!find_fixture("gpt2-tiny", &dir)) GTEST_SKIP() << dir;
  auto r = run_elarin({"encode", "--model", dir, "--text", "hello"});
  EXPECT_EQ(r.code, 2) << r.err_tail();
  EXPECT_NE(r.err.find("--ids"), std::string::npos) << r.err_tail();
}

}  // namespace
