// Torch-free safetensors header parser and validator: bytes of a whole file in, tensor list
// and `__metadata__` out, or a FormatError naming the defect. Leaves out the tensor data itself.
// Kept free of LibTorch so the libFuzzer target (fuzz/) can build it with nlohmann json alone.
//
//   #include "elarin/core/atomic_file.hpp"
//   std::string bytes = elarin::read_file("model.safetensors");
//   auto header = elarin::parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()),
//                                                  bytes.size(), "model.safetensors");
//   for (const elarin::TensorInfo& t : header.tensors)  // in data (offset) order
//     std::printf("%s %s at byte %llu\n", t.name.c_str(), t.dtype.c_str(),
//                 static_cast<unsigned long long>(header.data_start + t.begin));
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace elarin {

// Header entry of one tensor, as validated from the file.
struct TensorInfo {
  std::string name;
  std::string dtype;  // "F32", "BF16", ... as written in the file
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
};

// A validated header. Every tensor lies inside the data section, the tensors tile it exactly
// (no overlap, no hole, no trailing byte) and each one's byte count is shape x dtype size.
struct SafeTensorsHeader {
  std::vector<TensorInfo> tensors;              // sorted by (begin, end), then name
  std::map<std::string, std::string> metadata;  // "__metadata__"; empty when absent
  uint64_t data_start = 0;                      // file offset of the data section: 8 + N
  uint64_t data_size = 0;                       // bytes in the data section
};

// The spec's (and the reference implementation's) bound on the header length N.
inline constexpr uint64_t kSafeTensorsMaxHeaderSize = 100'000'000;

// Validates the bytes of a whole safetensors file. `origin` (a path or "<buffer>") starts every
// error message. Throws FormatError only; `data` may be null when `size` is 0.
SafeTensorsHeader parse_safetensors_header(const uint8_t* data, size_t size,
                                           const std::string& origin);

// Bytes per element of a dtype name; throws FormatError naming an unknown or unsupported dtype.
size_t safetensors_dtype_size(const std::string& name);

// The dtype names this reader supports, in the reference implementation's alignment order
// (BOOL first, I64 last); the writer lays tensors out in the reverse of this order.
const std::vector<std::string>& safetensors_dtype_names();

}  // namespace elarin
