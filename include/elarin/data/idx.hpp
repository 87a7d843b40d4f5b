// IDX reader (the MNIST / Fashion-MNIST container), gzip-compressed or plain.
// Leaves out writing IDX: elarin never produces it.
//
//   torch::Tensor images = elarin::read_idx("train-images-idx3-ubyte.gz");  // (N, 28, 28) uint8
//   torch::Tensor labels = elarin::read_idx("train-labels-idx1-ubyte.gz");  // (N) uint8
#pragma once

#include <torch/types.h>

#include <string>

namespace elarin {

// Reads an IDX file: 2 zero bytes, a dtype byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
// 0x0D f32, 0x0E f64), a rank byte, `rank` big-endian uint32 dims, then the data in
// big-endian order. gzip is detected from the content, not the name. Returns a contiguous
// CPU tensor of the stored dtype and shape. Throws Error if the file cannot be read and
// FormatError (naming the file and the defect) on a bad magic, truncated data or trailing
// bytes after the product of the dims.
torch::Tensor read_idx(const std::string& path);

}  // namespace elarin
