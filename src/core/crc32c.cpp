// CRC-32C with slice-by-8 tables built at compile time (8 KiB, reflected polynomial 0x82F63B78).
// Leaves out hardware CRC instructions: a few GB/s is plenty for metric files.
#include "core/crc32c.hpp"

#include <array>
#include <cstdio>

namespace elarin {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // Castagnoli polynomial 0x1EDC6F41, bit-reversed

struct Tables {
  // t[k][b]: CRC contribution of byte b followed by k zero bytes; lets 8 bytes be folded
  // with 8 independent lookups instead of 8 dependent ones.
  std::array<std::array<uint32_t, 256>, 8> t{};
};

constexpr Tables make_tables() {
  Tables tb;
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
    tb.t[0][b] = c;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) {
      const uint32_t prev = tb.t[k - 1][b];
      tb.t[k][b] = (prev >> 8) ^ tb.t[0][prev & 0xFFu];
    }
  }
  return tb;
}

constexpr Tables kTables = make_tables();

// Little-endian load written byte by byte: portable, and compilers fuse it into one load.
inline uint32_t load_le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n, uint32_t crc) {
  const auto& t = kTables.t;
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t lo = load_le32(p) ^ c;
    const uint32_t hi = load_le32(p + 4);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) c = (c >> 8) ^ t[0][(c ^ *p) & 0xFF];
  return ~c;
}

std::string crc32c_hex(std::string_view data) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc32c(data));
  return hex;
}

}  // namespace elarin
