// CRC-32C: published check values, and slice-by-8 against a bit-at-a-time reference.
#include "core/crc32c.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace {

// Bit-serial CRC-32C, straight from the definition: no tables to share a bug with.
uint32_t reference_crc32c(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char byte : s) {
    c ^= byte;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(elarin::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(elarin::crc32c_hex("123456789"), "e3069283");  // zero-padded, lower case
  EXPECT_EQ(elarin::crc32c_hex(std::string()), "00000000");
  EXPECT_EQ(elarin::crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(elarin::crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  EXPECT_EQ(elarin::crc32c(std::string()), 0u);
  // RFC 3720 (iSCSI) B.4: bytes 0, 1, ..., 31.
  std::string inc;
  for (int i = 0; i < 32; ++i) inc += static_cast<char>(i);
  EXPECT_EQ(elarin::crc32c(inc), 0x46DD794Eu);
}

TEST(Crc32c, MatchesBitwiseReferenceAtEveryLengthAndOffset) {
  std::mt19937 rng(7);
  std::string buf(300, '\0');
  for (auto& ch : buf) ch = static_cast<char>(rng());
  for (size_t off = 0; off < 8; ++off) {
    for (size_t len = 0; len + off <= buf.size(); len += 1 + len / 16) {
      const std::string piece = buf.substr(off, len);
      ASSERT_EQ(elarin::crc32c(piece), reference_crc32c(piece)) << "off " << off << " len " << len;
    }
  }
}

TEST(Crc32c, ChainingEqualsOnePass) {
  const std::string a = "The quick brown fox ", b = "jumps over the lazy dog";
  EXPECT_EQ(elarin::crc32c(b, elarin::crc32c(a)), elarin::crc32c(a + b));
}

TEST(Crc32c, MaskIsTheTfRecordRotationAndRoundTrips) {
  const uint32_t crc = elarin::crc32c("123456789");
  const uint32_t rotated = (crc >> 15) | (crc << 17);
  EXPECT_EQ(elarin::masked_crc32c(crc), static_cast<uint32_t>(rotated + 0xa282ead8u));
  EXPECT_NE(elarin::masked_crc32c(crc), crc);
  for (uint32_t x : {0u, 1u, crc, 0xFFFFFFFFu, 0x80000000u}) {
    EXPECT_EQ(elarin::unmask_crc32c(elarin::masked_crc32c(x)), x);
  }
}

}  // namespace
