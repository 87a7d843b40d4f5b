// PNG reading and writing through libpng's simplified API (png_image).
// Leaves out colour management: gamma and ICC chunks are not applied, as in PIL's open().
//
//   torch::Tensor rgb = elarin::read_png("cat.png");  // (H, W, 3) uint8
//   elarin::write_png("out.png", rgb.flip(1));       // mirrored
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace elarin {

// Reads any PNG (palette, gray, gray+alpha, RGB, RGBA, 1-16 bits) as (H, W, 3) uint8 RGB.
// Gray is replicated to the three channels and alpha is dropped, which is what PIL's
// convert("RGB") does, so CLIP-style preprocessing sees the same pixels. Throws Error if
// the file cannot be read and FormatError (naming the file and libpng's reason) if it is
// not a valid PNG.
torch::Tensor read_png(const std::string& path);
// The same from a PNG file's bytes (an upload); `what` names it in errors. An image of more
// than `max_pixels` pixels is a FormatError before anything is decoded.
torch::Tensor decode_png(const std::string& bytes, const std::string& what,
                         int64_t max_pixels = int64_t(1) << 26);

// Writes (H, W, C) uint8 with C = 1 (gray), 3 (RGB) or 4 (RGBA) as an 8-bit PNG, atomically.
void write_png(const std::string& path, const torch::Tensor& image);

// Writes (H, W) uint8 indices into `palette` (K, 3) uint8, K <= 256, as a palette PNG.
// Mostly for tests: it exercises read_png's palette expansion.
void write_png_palette(const std::string& path, const torch::Tensor& indices,
                       const torch::Tensor& palette);

}  // namespace elarin
