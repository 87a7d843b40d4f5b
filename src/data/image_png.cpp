// PNG I/O via png_image: libpng does the format conversions, and errors come back as a
// message instead of a longjmp. Leaves out APNG frames and 16-bit output.
#include "elarin/data/image_png.hpp"

#include <png.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

// Encodes `image` (already holding width, height, format) to PNG bytes and writes them
// atomically; libpng's own file writer would leave a torn file on a crash.
void encode_and_write(const std::string& path, png_image& image, const void* pixels,
                      const void* colormap) {
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, colormap)) {
    throw Error("cannot encode PNG '" + path + "': " + image.message);
  }
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, pixels, 0, colormap)) {
    throw Error("cannot encode PNG '" + path + "': " + image.message);
  }
  bytes.resize(size);
  write_file_atomic(path, bytes);
}

}  // namespace

torch::Tensor read_png(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error("PNG file '" + path + "' not found");
  return decode_png(read_file(path), "PNG file '" + path + "'");
}

torch::Tensor decode_png(const std::string& bytes, const std::string& what, int64_t max_pixels) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    throw FormatError(what + ": " + image.message);
  }
  // RGBA then drop alpha: asking libpng for RGB would composite onto a background instead.
  image.format = PNG_FORMAT_RGBA;
  const int64_t h = image.height, w = image.width;
  if (h * w > max_pixels) {
    png_image_free(&image);
    throw FormatError(what + ": " + std::to_string(w) + "x" + std::to_string(h) +
                      " pixels, more than the " + std::to_string(max_pixels) + " accepted");
  }
  auto rgba = torch::empty({h, w, 4}, torch::kUInt8);  // (H, W, 4)
  if (!png_image_finish_read(&image, nullptr, rgba.data_ptr(), 0, nullptr)) {
    png_image_free(&image);
    throw FormatError(what + ": " + image.message);
  }
  return rgba.slice(2, 0, 3).contiguous();  // (H, W, 3)
}

void write_png(const std::string& path, const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == torch::kUInt8,
              "write_png: image must be (H, W, C) uint8, got ", image.sizes(), " ",
              image.scalar_type());
  const int64_t c = image.size(2);
  if (c != 1 && c != 3 && c != 4) {
    throw UsageError("write_png '" + path + "': " + std::to_string(c) +
                     " channels, expected 1 (gray), 3 (RGB) or 4 (RGBA)");
  }
  auto pixels = image.to(torch::kCPU).contiguous();
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = png_uint_32(image.size(1));
  img.height = png_uint_32(image.size(0));
  img.format = c == 1 ? PNG_FORMAT_GRAY : c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  encode_and_write(path, img, pixels.data_ptr(), nullptr);
}

void write_png_palette(const std::string& path, const torch::Tensor& indices,
                       const torch::Tensor& palette) {
  TORCH_CHECK(indices.dim() == 2 && indices.scalar_type() == torch::kUInt8,
              "write_png_palette: indices must be (H, W) uint8, got ", indices.sizes());
  TORCH_CHECK(palette.dim() == 2 && palette.size(1) == 3 && palette.size(0) >= 1 &&
                  palette.size(0) <= 256 && palette.scalar_type() == torch::kUInt8,
              "write_png_palette: palette must be (K <= 256, 3) uint8, got ", palette.sizes());
  TORCH_CHECK(indices.numel() == 0 || indices.max().item<int64_t>() < palette.size(0),
              "write_png_palette: index ", indices.max().item<int64_t>(), " outside a palette of ",
              palette.size(0));
  auto idx = indices.to(torch::kCPU).contiguous();
  auto pal = palette.to(torch::kCPU).contiguous();
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = png_uint_32(indices.size(1));
  img.height = png_uint_32(indices.size(0));
  img.format = PNG_FORMAT_RGB_COLORMAP;
  img.colormap_entries = png_uint_32(palette.size(0));
  encode_and_write(path, img, idx.data_ptr(), pal.data_ptr());
}

}  // namespace elarin
