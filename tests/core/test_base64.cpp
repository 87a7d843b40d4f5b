// Base64: RFC 4648's test vectors both ways, a round trip of every byte, and bad input named.
#include <gtest/gtest.h>

#include "elarin/core/base64.hpp"
#include "elarin/core/errors.hpp"

TEST(Base64, MatchesTheRfcVectorsBothWays) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    EXPECT_EQ(elarin::base64_encode(plain, std::strlen(plain)), coded) << plain;
    EXPECT_EQ(elarin::base64_decode(coded), plain) << coded;
  }
}

TEST(Base64, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < all.size(); n += 37) {
    const std::string part = all.substr(n);
    EXPECT_EQ(elarin::base64_decode(elarin::base64_encode(part.data(), part.size())), part);
  }
}

TEST(Base64, BadInputIsAFormatErrorNamingWhere) {
  EXPECT_THROW(elarin::base64_decode("abc"), elarin::FormatError);  // not a multiple of 4
  try {
    elarin::base64_decode("Zm9v*mFy");
    FAIL() << "no error";
  } catch (const elarin::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("offset 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(elarin::base64_decode("Zg==Zm9v"), elarin::FormatError);  // padding inside
  EXPECT_THROW(elarin::base64_decode("Z==="), elarin::FormatError);
}
