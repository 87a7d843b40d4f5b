// Zones: the preset table, per-expert checkpoint files (round trip, validate-then-commit) and
// the lazily loading, size-capped ExpertStore.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "elarin/core/checkpoint.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/nn/moe/zones.hpp"
#include "nn/nn_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::FormatError;
using elarin::nn::ExpertStore;
using elarin::nn::MoECore;
using elarin::test::max_abs_diff;
using elarin::test::small_moe_config;
using elarin::test::TempDir;

TEST(MoEZones, PresetTableIsValidAndUnknownNamesListTheValidOnes) {
  const std::vector<std::string> want = {"hippocampus", "amygdala", "hypothalamus", "thalamus",
                                         "language"};
  ASSERT_EQ(elarin::nn::zone_table().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& z = elarin::nn::zone_table()[i];
    EXPECT_EQ(z.name, want[i]);
    EXPECT_NO_THROW(z.config.validate()) << z.name;
    EXPECT_EQ(&elarin::nn::zone_preset(want[i]), &z);
  }
  EXPECT_EQ(elarin::nn::zone_preset("language").config.balance, "bias");
  EXPECT_EQ(elarin::nn::zone_preset("language").config.shared_experts, 1);
  EXPECT_EQ(elarin::nn::zone_preset("thalamus").config.group_count, 2);
  auto msg =
      elarin::test::error_message<elarin::UsageError>([] { elarin::nn::zone_preset("cortex"); });
  EXPECT_NE(msg.find("'cortex'"), std::string::npos) << msg;
  for (const auto& name : want) EXPECT_NE(msg.find(name), std::string::npos) << msg;
}

TEST(MoEZones, ExpertCheckpointPath) {
  EXPECT_EQ(elarin::nn::expert_ckpt_path("state/experts", "hippocampus", 3),
            "state/experts/hippocampus/expert_3.safetensors");
}

TEST(MoEExpertCheckpoint, RoundTripIntoAFreshExpertAndAnotherSlot) {
  TempDir dir;
  torch::manual_seed(0);
  MoECore core(small_moe_config());
  auto x = torch::randn({6, 16});
  // Written under a directory that does not exist yet.
  const auto path = elarin::nn::expert_ckpt_path(dir.path, "hippocampus", 2);
  elarin::nn::save_expert(*core, 2, path);
  ASSERT_TRUE(std::filesystem::exists(path));
  auto st = elarin::SafeTensors::open(path);
  EXPECT_EQ(st.metadata().at("elarin.expert_type"), "mlp");
  EXPECT_EQ(st.metadata().at(elarin::kFormatKey), std::to_string(elarin::kCheckpointFormat));
  EXPECT_NE(st.metadata().at("elarin.expert_spec").find("\"hidden\":16"), std::string::npos);

  auto fresh = elarin::nn::make_expert("mlp", core->config().expert_spec());
  ASSERT_FALSE(torch::equal(fresh->forward(x), core->expert_output(2, x)));
  elarin::nn::load_expert(*fresh, path);
  EXPECT_TRUE(torch::equal(fresh->forward(x), core->expert_output(2, x)))
      << "max diff " << max_abs_diff(fresh->forward(x), core->expert_output(2, x));

  elarin::nn::load_expert(*core, 5, path);
  EXPECT_TRUE(torch::equal(core->expert_output(5, x), core->expert_output(2, x)))
      << "max diff " << max_abs_diff(core->expert_output(5, x), core->expert_output(2, x));
}

TEST(MoEExpertCheckpoint, WrongShapeThrowsAndLeavesTheExpertUnchanged) {
  TempDir dir;
  torch::manual_seed(1);
  auto cfg = small_moe_config();
  MoECore core(cfg);
  const auto path = dir.path + "/e.safetensors";
  elarin::nn::save_expert(*core, 0, path);
  // Same type, other hidden width.
  auto spec = cfg.expert_spec();
  spec.hidden = 8;
  auto narrow = elarin::nn::make_expert("mlp", spec);
  auto before = elarin::test::snapshot(*narrow);
  auto msg =
      elarin::test::error_message<FormatError>([&] { elarin::nn::load_expert(*narrow, path); });
  EXPECT_NE(msg.find("shape"), std::string::npos) << msg;
  EXPECT_TRUE(elarin::test::same_as(*narrow, before));

  // Only the last tensor checked is wrong: a loader that copied while checking would have
  // overwritten fc1.* and fc2.weight before finding it.
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : core->expert(0)->named_parameters(true))
    tensors[p.key()] = p.value().detach().clone();
  tensors["fc2.bias"] = torch::zeros({cfg.d_out + 1});
  elarin::save_safetensors(path, tensors,
                           {{elarin::kFormatKey, std::to_string(elarin::kCheckpointFormat)},
                            {"elarin.expert_type", "mlp"}});
  before = elarin::test::snapshot(*core->expert(3));
  msg = elarin::test::error_message<FormatError>([&] { elarin::nn::load_expert(*core, 3, path); });
  EXPECT_NE(msg.find("fc2.bias"), std::string::npos) << msg;
  EXPECT_TRUE(elarin::test::same_as(*core->expert(3), before)) << "a failed load changed expert 3";

  // A missing tensor.
  tensors.erase("fc2.bias");
  elarin::save_safetensors(path, tensors,
                           {{elarin::kFormatKey, std::to_string(elarin::kCheckpointFormat)},
                            {"elarin.expert_type", "mlp"}});
  msg = elarin::test::error_message<FormatError>([&] { elarin::nn::load_expert(*core, 3, path); });
  EXPECT_NE(msg.find("lacks tensor 'fc2.bias'"), std::string::npos) << msg;
  EXPECT_TRUE(elarin::test::same_as(*core->expert(3), before));
}

TEST(MoEExpertCheckpoint, WrongExpertTypeOrForeignFileThrows) {
  TempDir dir;
  torch::manual_seed(2);
  auto cfg = small_moe_config();
  cfg.expert_type = "conv1d";
  cfg.expert_channels = 2;
  cfg.expert_hidden = 4;
  MoECore conv(cfg);
  const auto path = dir.path + "/conv.safetensors";
  elarin::nn::save_expert(*conv, 0, path);
  MoECore mlp(small_moe_config());
  auto before = elarin::test::snapshot(*mlp->expert(0));
  auto msg =
      elarin::test::error_message<FormatError>([&] { elarin::nn::load_expert(*mlp, 0, path); });
  EXPECT_NE(msg.find("holds a 'conv1d' expert, expected 'mlp'"), std::string::npos) << msg;
  EXPECT_TRUE(elarin::test::same_as(*mlp->expert(0), before));

  const auto foreign = dir.path + "/foreign.safetensors";
  elarin::save_safetensors(foreign, {{"fc1.weight", torch::zeros({16, 16})}}, {{"format", "pt"}});
  msg =
      elarin::test::error_message<FormatError>([&] { elarin::nn::load_expert(*mlp, 0, foreign); });
  EXPECT_NE(msg.find("not an elarin expert file"), std::string::npos) << msg;
  EXPECT_TRUE(elarin::test::same_as(*mlp->expert(0), before));
}

// Regression: load_expert checks dtypes too; a right-shaped int32 tensor is a FormatError
// and leaves the expert unchanged.
TEST(MoEExpertCheckpoint, WrongDtypeThrowsAndLeavesTheExpertUnchanged) {
  TempDir dir;
  torch::manual_seed(3);
  MoECore core(small_moe_config());
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : core->expert(0)->named_parameters(true))
    tensors[p.key()] = p.value().detach().clone();
  tensors["fc1.weight"] = torch::ones(tensors["fc1.weight"].sizes(), torch::kInt32);
  const auto path = dir.path + "/int.safetensors";
  elarin::save_safetensors(path, tensors,
                           {{elarin::kFormatKey, std::to_string(elarin::kCheckpointFormat)},
                            {"elarin.expert_type", "mlp"}});
  auto before = elarin::test::snapshot(*core->expert(1));
  auto msg =
      elarin::test::error_message<FormatError>([&] { elarin::nn::load_expert(*core, 1, path); });
  EXPECT_NE(msg.find("fc1.weight"), std::string::npos) << msg;
  EXPECT_TRUE(elarin::test::same_as(*core->expert(1), before)) << "an int32 file was loaded";
}

// Saves experts 0..n-1 of `core` as zone `zone` under `root`.
void save_all(MoECore& core, const std::string& root, const std::string& zone, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    elarin::nn::save_expert(*core, i, elarin::nn::expert_ckpt_path(root, zone, i));
}

TEST(MoEExpertStore, LoadsLazilyAndKeepsAtMostMaxResident) {
  TempDir dir;
  torch::manual_seed(4);
  auto cfg = small_moe_config();
  MoECore core(cfg);
  save_all(core, dir.path, "hippocampus", 5);
  auto x = torch::randn({4, 16});

  ExpertStore store(dir.path, "hippocampus", cfg, /*max_resident=*/2);
  EXPECT_EQ(store.loads(), 0);
  EXPECT_EQ(store.resident_count(), 0);
  auto e0 = store.get(0);
  EXPECT_EQ(store.loads(), 1);
  EXPECT_TRUE(torch::equal(e0->forward(x), core->expert_output(0, x)));
  EXPECT_EQ(store.get(0), e0) << "a resident expert was reloaded";
  EXPECT_EQ(store.loads(), 1);

  // Access pattern 1, 0, 2: 1 is the least recently used when 2 arrives.
  store.get(1);
  store.get(0);
  store.get(2);
  EXPECT_EQ(store.loads(), 3);
  EXPECT_TRUE(store.is_resident(0));
  EXPECT_FALSE(store.is_resident(1));
  EXPECT_TRUE(store.is_resident(2));

  for (int64_t i : {3, 4, 0, 1, 2, 4, 3}) {
    auto e = store.get(i);
    EXPECT_LE(store.resident_count(), 2) << "after get(" << i << ")";
    EXPECT_TRUE(torch::equal(e->forward(x), core->expert_output(i, x))) << "expert " << i;
  }
  EXPECT_EQ(store.resident_count(), 2);
}

TEST(MoEExpertStore, EvictedDirtyExpertsAreWrittenAndReloadIdentical) {
  TempDir dir;
  torch::manual_seed(5);
  auto cfg = small_moe_config();
  auto x = torch::randn({4, 16});
  ExpertStore store(dir.path, "amygdala", cfg, /*max_resident=*/1);
  const auto path7 = elarin::nn::expert_ckpt_path(dir.path, "amygdala", 7);

  // No file yet: a fresh expert, dirty from birth.
  auto e7 = store.get(7);
  EXPECT_EQ(store.loads(), 0);
  EXPECT_FALSE(std::filesystem::exists(path7));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : e7->parameters()) p.mul_(1.5).add_(0.25);
  }
  store.mark_dirty(7);
  auto want = e7->forward(x).detach();
  store.get(8);  // evicts 7, which is written
  EXPECT_FALSE(store.is_resident(7));
  EXPECT_TRUE(std::filesystem::exists(path7));
  auto again = store.get(7);
  EXPECT_EQ(store.loads(), 1);
  EXPECT_NE(again, e7) << "not a reload";
  EXPECT_TRUE(torch::equal(again->forward(x), want))
      << "max diff " << max_abs_diff(again->forward(x), want);

  // A loaded expert changed without mark_dirty is not written back on eviction ...
  {
    torch::NoGradGuard no_grad;
    for (auto& p : again->parameters()) p.add_(1.0);
  }
  store.get(8);
  EXPECT_TRUE(torch::equal(store.get(7)->forward(x), want));
  // ... and flush() writes the dirty residents without evicting them.
  auto e = store.get(7);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : e->parameters()) p.add_(1.0);
  }
  auto changed = e->forward(x).detach();
  store.mark_dirty(7);
  store.flush();
  EXPECT_TRUE(store.is_resident(7));
  ExpertStore other(dir.path, "amygdala", cfg, 1);
  EXPECT_TRUE(torch::equal(other.get(7)->forward(x), changed));
}

TEST(MoEExpertStore, RejectsAZeroCap) {
  EXPECT_THROW(ExpertStore("/tmp", "hippocampus", small_moe_config(), 0), elarin::UsageError);
}

}  // namespace

TEST(MoEExpertCheckpoint, OtherFormatVersionIsRefusedNamingBoth) {
  TempDir dir;
  torch::manual_seed(3);
  auto e = elarin::nn::make_expert("mlp", {8, 8, 16, 1, 0.0});
  const auto path = dir.path + "/v2.safetensors";
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : e->named_parameters(true)) tensors[p.key()] = p.value().detach().clone();
  elarin::save_safetensors(path, tensors,
                           {{elarin::kFormatKey, "2"}, {"elarin.expert_type", "mlp"}});
  auto msg = elarin::test::error_message<FormatError>([&] { elarin::nn::load_expert(*e, path); });
  EXPECT_NE(msg.find("format 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("reads 1"), std::string::npos) << msg;
}
