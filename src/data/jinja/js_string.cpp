// JavaScript string and number semantics on UTF-8 text (see js_string.hpp). Leaves out
// Intl collation and the Unicode tables themselves (case_tables.cpp).
#include "data/jinja/js_string.hpp"

#include "core/utf8.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace elarin::jinja {
namespace {

// One code point at s[i] (surrogates allowed), its byte length in *len; U+FFFD for a bad byte.
char32_t decode_one(std::string_view s, size_t i, size_t* len) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  *len = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  char32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0xFFFD;
  }
  if (i + n > s.size()) return 0xFFFD;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF) return 0xFFFD;
  *len = n;
  return cp;
}

bool is_high(char32_t cp) { return cp >= 0xD800 && cp <= 0xDBFF; }
bool is_low(char32_t cp) { return cp >= 0xDC00 && cp <= 0xDFFF; }

char32_t map_single(const CaseRun* runs, size_t count, char32_t cp) {
  const CaseRun* end = runs + count;
  const CaseRun* it =
      std::upper_bound(runs, end, cp, [](char32_t c, const CaseRun& r) { return c < r.start; });
  if (it == runs) return cp;
  --it;
  if (cp > it->end || (cp - it->start) % it->stride != 0) return cp;
  return static_cast<char32_t>(static_cast<int64_t>(cp) + it->delta);
}

const CaseSpecial* find_special(const CaseSpecial* specials, size_t count, char32_t cp) {
  const CaseSpecial* end = specials + count;
  const CaseSpecial* it = std::lower_bound(
      specials, end, cp, [](const CaseSpecial& s, char32_t c) { return s.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

void append_mapped(std::string& out, char32_t cp, bool upper) {
  const CaseSpecial* special = upper ? find_special(kUpperSpecials, kUpperSpecialCount, cp)
                                     : find_special(kLowerSpecials, kLowerSpecialCount, cp);
  if (special != nullptr) {
    for (uint32_t c : special->out) {
      if (c != 0) append_code_point(out, c);
    }
    return;
  }
  append_code_point(out, upper ? map_single(kUpperRuns, kUpperRunCount, cp)
                               : map_single(kLowerRuns, kLowerRunCount, cp));
}

// A letter with case: what final sigma looks for around U+03A3 (an approximation of
// Unicode's Cased / Case_Ignorable properties).
bool is_cased(char32_t cp) {
  return map_single(kUpperRuns, kUpperRunCount, cp) != cp ||
         map_single(kLowerRuns, kLowerRunCount, cp) != cp ||
         find_special(kUpperSpecials, kUpperSpecialCount, cp) != nullptr;
}

// The longest prefix of `s` that is a StrDecimalLiteral (sign, Infinity, digits, fraction,
// exponent); 0 when none.
size_t decimal_prefix(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (s.substr(i, 8) == "Infinity") return i + 8;
  const size_t int_begin = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  size_t digits = i - int_begin;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j - i - 1 > 0 || digits > 0) {
      digits += j - i - 1;
      i = j;
    }
  }
  if (digits == 0) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    const size_t exp_begin = j;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j > exp_begin) i = j;
  }
  return i;
}

double parse_decimal(std::string_view s) {
  const std::string text(s);
  if (text.find("Infinity") != std::string::npos) {
    return text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

void append_code_point(std::string& out, char32_t cp) { out += encode_utf8(cp); }

std::vector<char32_t> to_code_points(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len;
    char32_t cp = decode_one(text, i, &len);
    i += len;
    if (is_low(cp) && !cps.empty() && is_high(cps.back())) {
      cps.back() = 0x10000 + ((cps.back() - 0xD800) << 10) + (cp - 0xDC00);
      continue;
    }
    cps.push_back(cp);
  }
  return cps;
}

std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) append_code_point(out, cps[i]);
  return out;
}

std::string normalize_surrogates(std::string_view text, bool replace_lone) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : to_code_points(text)) {
    append_code_point(out, replace_lone && cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp);
  }
  return out;
}

size_t utf16_length(std::string_view text) {
  size_t n = 0;
  for (char32_t cp : to_code_points(text)) n += cp >= 0x10000 ? 2 : 1;
  return n;
}

bool utf16_at(std::string_view text, double index, std::string* out) {
  std::vector<char16_t> units;
  for (char32_t cp : to_code_points(text)) {
    if (cp >= 0x10000) {
      units.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
      units.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    } else {
      units.push_back(static_cast<char16_t>(cp));
    }
  }
  double i = std::trunc(index);
  if (i < 0) i += static_cast<double>(units.size());
  if (!(i >= 0 && i < static_cast<double>(units.size()))) return false;
  out->clear();
  append_code_point(*out, units[static_cast<size_t>(i)]);
  return true;
}

int utf16_compare(std::string_view a, std::string_view b) {
  // UTF-16 order differs from code point order only between astral characters and
  // U+E000..U+FFFF: map astral ones to their lead surrogate's place, then compare.
  const std::vector<char32_t> x = to_code_points(a), y = to_code_points(b);
  const auto key = [](char32_t cp) -> uint64_t {
    if (cp < 0x10000) return static_cast<uint64_t>(cp) << 16;
    const uint64_t hi = 0xD800 + ((cp - 0x10000) >> 10), lo = 0xDC00 + ((cp - 0x10000) & 0x3FF);
    return (hi << 16) | lo;
  };
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (x[i] == y[i]) continue;
    return key(x[i]) < key(y[i]) ? -1 : 1;
  }
  return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
}

bool is_js_whitespace(char32_t cp) {
  if (cp <= 32) return cp == 32 || (cp >= 9 && cp <= 13);
  return cp == 160 || cp == 5760 || (cp >= 8192 && cp <= 8202) || cp == 8232 || cp == 8233 ||
         cp == 8239 || cp == 8287 || cp == 12288 || cp == 65279;
}

std::string trim_start(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t len;
    if (!is_js_whitespace(decode_one(text, i, &len))) break;
    i += len;
  }
  return std::string(text.substr(i));
}

std::string trim_end(std::string_view text) {
  size_t end = 0;  // one past the last non-whitespace byte
  for (size_t i = 0; i < text.size();) {
    size_t len;
    const char32_t cp = decode_one(text, i, &len);
    i += len;
    if (!is_js_whitespace(cp)) end = i;
  }
  return std::string(text.substr(0, end));
}

std::string trim(std::string_view text) { return trim_end(trim_start(text)); }

std::string to_upper(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : to_code_points(text)) append_mapped(out, cp, true);
  return out;
}

std::string upper_of(char32_t cp) {
  std::string out;
  append_mapped(out, cp, true);
  return out;
}

std::string to_lower(std::string_view text) {
  const std::vector<char32_t> cps = to_code_points(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    // Final sigma: a capital sigma that ends a word lowers to U+03C2.
    if (cps[i] == 0x3A3 && i > 0 && is_cased(cps[i - 1]) &&
        (i + 1 == cps.size() || !is_cased(cps[i + 1]))) {
      append_code_point(out, 0x3C2);
      continue;
    }
    append_mapped(out, cps[i], false);
  }
  return out;
}

std::string title_case(std::string_view text) {
  std::string out(text);
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= 'a' && out[i] <= 'z' && (i == 0 || !word(text[i - 1]))) {
      out[i] = static_cast<char>(out[i] - 32);
    }
  }
  return out;
}

std::string capitalize(std::string_view text) {
  const std::vector<char32_t> cps = to_code_points(text);
  if (cps.empty() || cps[0] >= 0x10000) return std::string(text);
  return upper_of(cps[0]) + from_code_points(cps, 1, cps.size());
}

std::string js_number_to_string(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-Infinity" : "Infinity";
  if (value == 0) return "0";
  // Shortest round-trip digits, then ECMAScript's Number::toString layout.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::atoi(sci.c_str() + e + 1);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(-n, '0') + digits;
  } else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return negative ? "-" + out : out;
}

std::string js_number_to_json(double value) {
  if (!std::isfinite(value)) return "null";
  return js_number_to_string(value);
}

std::string js_float_to_string(double value) {
  if (value == 0 && std::signbit(value)) return "-0.0";
  if (std::isfinite(value) && std::fmod(value, 1.0) == 0 && std::fabs(value) < 1e21) {
    char buf[400];
    std::snprintf(buf, sizeof(buf), "%.1f", value);
    return buf;
  }
  return js_number_to_string(value);
}

double js_parse_int(std::string_view text) {
  const std::string s = trim_start(text);
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  const size_t begin = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == begin) return NAN;
  const double v = std::strtod(s.substr(begin, i - begin).c_str(), nullptr);
  return negative ? -v : v;
}

double js_parse_float(std::string_view text) {
  const std::string s = trim_start(text);
  const size_t n = decimal_prefix(s);
  if (n == 0) return NAN;
  return parse_decimal(std::string_view(s).substr(0, n));
}

double js_string_to_number(std::string_view text) {
  const std::string s = trim(text);
  if (s.empty()) return 0;
  if (s.size() > 2 && s[0] == '0' && std::string("xXoObB").find(s[1]) != std::string::npos) {
    const int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
    double v = 0;
    for (size_t i = 2; i < s.size(); ++i) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
      if (d >= base) return NAN;
      v = v * base + d;
    }
    return v;
  }
  if (decimal_prefix(s) != s.size()) return NAN;
  return parse_decimal(s);
}

std::string json_quote(std::string_view text) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (char32_t cp : to_code_points(text)) {
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (cp < 0x20 || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
    } else {
      append_code_point(out, cp);
    }
  }
  return out + "\"";
}

std::string ascii_escape(std::string_view json) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  const auto unit = [&](uint32_t u) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(u >> shift) & 0xF];
  };
  for (char32_t cp : to_code_points(json)) {
    if (cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      unit(cp);
    } else {
      unit(0xD800 + ((cp - 0x10000) >> 10));
      unit(0xDC00 + ((cp - 0x10000) & 0x3FF));
    }
  }
  return out;
}

}  // namespace elarin::jinja
