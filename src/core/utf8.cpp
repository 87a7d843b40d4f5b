// UTF-8 repair with the WHATWG decoder's replacement rule (see utf8.hpp). Leaves out
// decoding to code points, which the inline helpers in the header do.
#include "core/utf8.hpp"

namespace elarin {

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 1;
    if (decode_utf8(s, i, &len) != kInvalidUtf8) {
      out.append(s.data() + i, len);
      i += len;
      continue;
    }
    // A maximal subpart: a lead byte followed by as many continuation bytes as could still
    // complete it (the first continuation byte's range depends on the lead byte).
    const auto b0 = static_cast<uint8_t>(s[i]);
    size_t need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 2;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 3;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    size_t j = i + 1;
    for (size_t k = 0; k < need && j < s.size(); ++k, ++j) {
      const auto b = static_cast<uint8_t>(s[j]);
      if (b < lo || b > hi) break;
      lo = 0x80, hi = 0xBF;
    }
    out += "\xEF\xBF\xBD";
    i = j;
  }
  return out;
}

}  // namespace elarin
