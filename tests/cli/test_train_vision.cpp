// `elarin train vision` end to end: a tiny CLIP vision tower trained on unlabeled Fashion-MNIST
// is written in Hugging Face's format that `elarin encode` (and so the retina) loads, with
// its preprocessor config; the contrastive loss falls; bad options are usage errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cli/run_binary.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/data/image_dataset.hpp"
#include "elarin/data/image_png.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using elarin::test::run_elarin;

bool have_fashion() {
  return fs::exists(std::string(elarin::kFashionMnistRoot) + "/train-images-idx3-ubyte.gz");
}

TEST(TrainVision, WritesAHuggingFaceClipVisionModelThatEncodeLoads) {
  if (!have_fashion()) GTEST_SKIP() << "Fashion-MNIST absent: apt install dataset-fashion-mnist";
  elarin::test::TempDir tmp;
  const std::string out = tmp.path + "/clip";
  const std::vector<std::string> common = {
      "train",      "vision",  "--out",   out,   "--images", "256", "--hidden", "16",
      "--layers",   "1",       "--heads", "2",   "--patch",  "7",   "--batch",  "64",
      "--projection", "8",     "--lr",    "3e-3", "--json"};
  auto one = common;
  one.insert(one.end(), {"--epochs", "1"});
  auto r1 = run_elarin(one);
  ASSERT_EQ(r1.code, 0) << r1.err_tail();
  auto many = common;
  many.insert(many.end(), {"--epochs", "6"});
  auto r = run_elarin(many);
  ASSERT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["epochs"], 6);
  EXPECT_LT(j["loss"].get<double>(), nlohmann::json::parse(r1.last_line())["loss"].get<double>())
      << "more epochs, lower contrastive loss";
  auto config = nlohmann::json::parse(elarin::read_file(out + "/config.json"));
  EXPECT_EQ(config["model_type"], "clip_vision_model");
  EXPECT_EQ(config["image_size"], 28);
  EXPECT_EQ(config["projection_dim"], 8);
  auto pre = nlohmann::json::parse(elarin::read_file(out + "/preprocessor_config.json"));
  EXPECT_EQ(pre["crop_size"]["height"], 28);
  EXPECT_EQ(pre["image_mean"][0], 0.5);
  // encode loads it and gives an 8-d image embedding for a 28x28 image.
  const std::string png = tmp.path + "/x.png";
  elarin::write_png(png, elarin::load_fashion_mnist().images[0].permute({1, 2, 0})
                             .mul(255).round().to(torch::kByte).contiguous());
  auto e = run_elarin({"encode", "--model", out, "--image", png, "--json"});
  ASSERT_EQ(e.code, 0) << e.err_tail();
  EXPECT_EQ(nlohmann::json::parse(e.last_line())["shape"], (std::vector<int>{1, 8}));
}

TEST(TrainVision, BadOptionsAreUsageErrors) {
  auto heads = run_elarin({"train", "vision", "--out", "/tmp/x", "--hidden", "10", "--heads", "4"});
  EXPECT_EQ(heads.code, 2);
  EXPECT_NE(heads.err.find("--hidden 10 is not a multiple of --heads 4"), std::string::npos)
      << heads.err_tail();
  auto patch = run_elarin({"train", "vision", "--out", "/tmp/x", "--patch", "5"});
  EXPECT_EQ(patch.code, 2);
  EXPECT_NE(patch.err.find("--patch 5: expected a divisor of 28"), std::string::npos)
      << patch.err_tail();
  auto data = run_elarin({"train", "vision", "--out", "/tmp/x", "--dataset", "cifar"});
  EXPECT_EQ(data.code, 2);
  EXPECT_NE(data.err.find("--dataset: 'cifar' is neither"), std::string::npos) << data.err_tail();
}

}  // namespace
