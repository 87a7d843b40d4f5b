// Checkpoints store the resolved config and refuse other format versions.
#include <gtest/gtest.h>

#include <filesystem>

#include "elarin/cli/app_config.hpp"
#include "elarin/core/checkpoint.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("elarin_ck_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(Checkpoint, StoresResolvedConfigAndTensors) {
  elarin::AppConfig app;
  app.config.set("runtime.seed=99");
  const std::string path = temp_path("a.safetensors");
  auto w = torch::arange(6, torch::kFloat32).view({2, 3});
  elarin::save_checkpoint(path, {{"w", w}}, app.config, {{"elarin.step", "42"}});
  auto ck = elarin::load_checkpoint(path);
  EXPECT_EQ(ck.config["runtime"]["seed"], 99);
  EXPECT_EQ(ck.config, app.config.to_json());
  EXPECT_EQ(ck.metadata.at("elarin.step"), "42");
  EXPECT_TRUE(torch::equal(ck.tensors.at("w"), w));
  std::filesystem::remove(path);
}

TEST(Checkpoint, RefusesOtherFormatVersionsAndForeignFiles) {
  const std::string path = temp_path("b.safetensors");
  elarin::save_safetensors(path, {{"w", torch::ones({1})}}, {{elarin::kFormatKey, "2"}});
  try {
    elarin::load_checkpoint(path);
    FAIL() << "format 2 accepted";
  } catch (const elarin::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint has format 2, this build reads 1"),
              std::string::npos)
        << e.what();
  }
  elarin::save_safetensors(path, {{"w", torch::ones({1})}}, {{"format", "pt"}});
  try {
    elarin::load_checkpoint(path);
    FAIL() << "foreign file accepted";
  } catch (const elarin::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("not an elarin checkpoint"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
