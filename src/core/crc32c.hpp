// CRC-32C (Castagnoli), the checksum of TFRecord framing (TensorBoard event files).
// Portable slice-by-8 tables only; leaves out the SSE4.2 / ARMv8 hardware instructions.
//
//   uint32_t c = elarin::crc32c("123456789");      // 0xE3069283
//   uint32_t m = elarin::masked_crc32c(c);          // what a TFRecord stores
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace elarin {

// CRC-32C of `n` bytes at `data`. `crc` is the result over the preceding bytes (0 to start),
// so crc32c(b, nb, crc32c(a, na)) == crc32c of a then b.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

inline uint32_t crc32c(std::string_view data, uint32_t crc = 0) {
  return crc32c(data.data(), data.size(), crc);
}

// The CRC-32C as 8 lower-case hex digits (how checkpoints record a file's checksum).
std::string crc32c_hex(std::string_view data);

// TFRecord / LevelDB masking: a CRC stored next to data that itself holds CRCs would make
// CRC-of-CRC patterns degenerate, so the stored value is rotated and offset.
constexpr uint32_t kCrc32cMaskDelta = 0xa282ead8u;

constexpr uint32_t masked_crc32c(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kCrc32cMaskDelta;
}

constexpr uint32_t unmask_crc32c(uint32_t masked) {
  const uint32_t rot = masked - kCrc32cMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace elarin
