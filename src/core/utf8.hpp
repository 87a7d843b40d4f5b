// UTF-8 decoding and encoding shared by the tokenizers (GPT-2 byte-level BPE, the character
// tokenizer). Leaves out normalisation and grapheme clusters.
//
//   size_t len;
//   uint32_t cp = elarin::decode_utf8(text, i, &len);  // kInvalidUtf8 on a malformed byte
//   std::string bytes = elarin::encode_utf8(0x00E9);   // "\xC3\xA9"
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace elarin {

constexpr uint32_t kInvalidUtf8 = 0xFFFFFFFF;

// The code point starting at s[i], and its length in *len. Anything that is not well-formed
// UTF-8 (stray continuation byte, truncated sequence, overlong form, surrogate, > U+10FFFF) is
// kInvalidUtf8 with length 1, so every byte belongs to exactly one character.
inline uint32_t decode_utf8(std::string_view s, size_t i, size_t* len) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  *len = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  uint32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return kInvalidUtf8;
  }
  if (i + n > s.size()) return kInvalidUtf8;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return kInvalidUtf8;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kInvalidUtf8;
  *len = n;
  return cp;
}

// `s` with every ill-formed sequence replaced by U+FFFD the way the WHATWG decoder (JavaScript's
// TextDecoder, Python's errors="replace") does it: one U+FFFD per maximal subpart, so "\xE4\xBDa"
// becomes "\uFFFDa". Valid input comes back unchanged.
std::string to_valid_utf8(std::string_view s);

// The UTF-8 bytes of code point `cp` (<= U+10FFFF).
inline std::string encode_utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace elarin
