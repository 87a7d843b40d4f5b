// PNG: exact round trips for RGB, and gray, alpha and palette files all read back as RGB.
#include "elarin/data/image_png.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {
namespace fs = std::filesystem;

using elarin::test::TempDir;

torch::Tensor random_u8(std::vector<int64_t> shape, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randint(0, 256, shape, gen, torch::kUInt8);
}

TEST(DataImagePng, RgbRoundTripIsExact) {
  TempDir dir;
  auto rgb = random_u8({5, 7, 3}, 1);  // (H, W, 3), non-square to catch a transposition
  elarin::write_png(dir.path + "/rgb.png", rgb);
  auto back = elarin::read_png(dir.path + "/rgb.png");
  ASSERT_EQ(back.sizes(), rgb.sizes());
  EXPECT_TRUE(torch::equal(back, rgb));
}

TEST(DataImagePng, GrayIsReplicatedAndAlphaDropped) {
  TempDir dir;
  auto gray = random_u8({4, 6, 1}, 2);
  elarin::write_png(dir.path + "/gray.png", gray);
  auto g = elarin::read_png(dir.path + "/gray.png");
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{4, 6, 3}));
  EXPECT_TRUE(torch::equal(g, gray.expand({4, 6, 3})));

  auto rgba = random_u8({3, 3, 4}, 3);
  rgba.select(2, 3)[0][0] = 0;  // a fully transparent pixel keeps its colour, as in PIL
  elarin::write_png(dir.path + "/rgba.png", rgba);
  auto a = elarin::read_png(dir.path + "/rgba.png");
  EXPECT_TRUE(torch::equal(a, rgba.slice(2, 0, 3)));
}

TEST(DataImagePng, PaletteIsExpanded) {
  TempDir dir;
  auto palette = torch::tensor({255, 0, 0, 0, 255, 0, 10, 20, 30}, torch::kUInt8).view({3, 3});
  auto indices = torch::tensor({0, 1, 2, 2, 1, 0}, torch::kUInt8).view({2, 3});
  elarin::write_png_palette(dir.path + "/pal.png", indices, palette);
  auto rgb = elarin::read_png(dir.path + "/pal.png");
  EXPECT_TRUE(torch::equal(
      rgb, palette.index_select(0, indices.flatten().to(torch::kInt64)).view({2, 3, 3})));
}

TEST(DataImagePng, NotAPngNamesTheFile) {
  TempDir dir;
  const std::string path = dir.path + "/fake.png";
  std::ofstream(path) << "GIF89a definitely not a png";
  try {
    elarin::read_png(path);
    FAIL() << "expected FormatError";
  } catch (const elarin::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(elarin::read_png(dir.path + "/missing.png"), elarin::Error);
  EXPECT_THROW(elarin::write_png(path, torch::zeros({2, 2, 2}, torch::kUInt8)), elarin::UsageError);
}

}  // namespace
