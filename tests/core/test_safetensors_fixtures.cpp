// Reads the real Hugging Face checkpoints in ../shared/fixtures (or $ELARIN_FIXTURES) and
// checks that writing them back gives the same bytes. Skipped when the fixtures are absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/safetensors.hpp"

namespace elarin {
namespace {

namespace fs = std::filesystem;

std::string fixtures_dir() {
  const char* env = std::getenv("ELARIN_FIXTURES");
  return env != nullptr && *env != '\0' ? env : ELARIN_SOURCE_DIR "/../shared/fixtures";
}

TEST(SafeTensorsFixtures, ReadsTheGpt2TinyCheckpoint) {
  const std::string dir = fixtures_dir() + "/gpt2-tiny";
  if (!fs::exists(dir + "/model.safetensors")) {
    GTEST_SKIP() << "no fixture at " << dir << " (set ELARIN_FIXTURES to the fixtures directory)";
  }
  const SafeTensors st = SafeTensors::open(dir + "/model.safetensors");
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.names().size(), 4u * 12 + 4);  // 4 blocks of 12 tensors, wte, wpe, ln_f x2

  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"transformer.wte.weight", {512, 64}},
      {"transformer.wpe.weight", {64, 64}},
      {"transformer.h.0.attn.c_attn.weight", {64, 192}},
      {"transformer.h.3.mlp.c_proj.weight", {256, 64}},
      {"transformer.ln_f.bias", {64}}};
  for (const auto& [name, shape] : shapes) {
    const torch::Tensor t = st.tensor(name);
    EXPECT_EQ(t.sizes().vec(), shape) << name;
    EXPECT_EQ(t.scalar_type(), torch::kFloat) << name;
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << name;
  }
  // Random-init GPT-2 weights have std ~0.02: a misplaced offset would read other data.
  const double wte_std = st.tensor("transformer.wte.weight").std().item<double>();
  EXPECT_GT(wte_std, 0.005);
  EXPECT_LT(wte_std, 0.1);

  const SafeTensors inputs = SafeTensors::open(dir + "/inputs.safetensors");
  const torch::Tensor ids = inputs.tensor("input_ids");
  EXPECT_EQ(ids.scalar_type(), torch::kLong);
  EXPECT_EQ(ids.sizes().vec(), (std::vector<int64_t>{2, 16}));
  EXPECT_GE(ids.min().item<int64_t>(), 0);
  EXPECT_LT(ids.max().item<int64_t>(), 512);  // the vocabulary size in config.json
}

// Our writer follows the reference layout exactly, so every fixture written by Python's
// safetensors comes back byte for byte.
TEST(SafeTensorsFixtures, RewritesEveryFixtureByteForByte) {
  const fs::path root = fixtures_dir();
  if (!fs::is_directory(root)) GTEST_SKIP() << "no fixtures directory at " << root;
  int checked = 0;
  for (const auto& model : fs::directory_iterator(root)) {
    for (const char* file : {"model", "inputs", "expected"}) {
      const fs::path path = model.path() / (std::string(file) + ".safetensors");
      if (!fs::exists(path)) continue;
      SCOPED_TRACE(path.string());
      const std::string original = read_file(path.string());
      const SafeTensors st = SafeTensors::open(path.string());
      const std::string rewritten = safetensors_bytes(st.tensors(), st.metadata());
      ASSERT_EQ(rewritten.size(), original.size());
      const auto diff = std::mismatch(original.begin(), original.end(), rewritten.begin());
      EXPECT_TRUE(diff.first == original.end())
          << "first difference at byte " << (diff.first - original.begin());
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << "no safetensors files under " << root;
  std::cout << "rewrote " << checked << " fixture files byte for byte\n";
}

}  // namespace
}  // namespace elarin
