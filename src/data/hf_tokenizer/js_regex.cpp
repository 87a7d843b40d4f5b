// JsRegex: tokenizer.json patterns through PCRE2 with JavaScript's semantics (see the header).
// Leaves out the regex-free splitting and the callers' behaviours (pre_tokenizer.cpp).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "data/hf_tokenizer/js_regex.hpp"

#include <pcre2.h>

#include "core/utf8.hpp"
#include "data/hf_tokenizer/json_util.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

// JavaScript's WhiteSpace and LineTerminator code points, as a PCRE2 class body.
constexpr const char* kJsSpaceClass =
    "\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}\\x{FEFF}";

// transformers.js' PROBLEMATIC_REGEX_MAP: JavaScript has no inline (?i:...), so the
// contraction group is spelled out with ASCII case pairs (which is also all it matches there).
const std::pair<const char*, const char*> kRewrites[] = {
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))"},
};

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

bool is_js_space(uint32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string_view js_trim_start(std::string_view s) {
  size_t i = 0, len = 1;
  while (i < s.size() && is_js_space(decode_utf8(s, i, &len))) i += len;
  return s.substr(i);
}

std::string_view js_trim_end(std::string_view s) {
  size_t end = 0, i = 0, len = 1;  // end: one past the last non-space character
  while (i < s.size()) {
    const bool space = is_js_space(decode_utf8(s, i, &len));
    i += len;
    if (!space) end = i;
  }
  return s.substr(0, end);
}

std::string js_pattern_for_pcre2(const std::string& pattern) {
  std::string p = pattern;
  for (const auto& [from, to] : kRewrites) p = hf_tokenizer::replace_all(p, from, to);
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? std::string(kJsSpaceClass) : "[" + std::string(kJsSpaceClass) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(kJsSpaceClass) + "]";
      } else if (e == 'u' && i + 4 < p.size() &&
                 p.substr(i + 1, 4).find_first_not_of("0123456789abcdefABCDEF") ==
                     std::string::npos) {
        out +=
            "\\x{" + p.substr(i + 1, 4) + "}";  // \uXXXX (Python, JavaScript); PCRE2 spells it \x{}
        i += 4;
      } else if (e == '#' || e == '&' || e == '~') {
        out += e;  // transformers.js drops these needless escapes; PCRE2 reads both the same
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
    } else if (c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in PCRE2 (and Python); keep it in the class.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
    } else if (c == '.') {
      out += "[^\\n\\r\\x{2028}\\x{2029}]";
    } else {
      out += c;
    }
  }
  return out;
}

struct JsRegex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

JsRegex::JsRegex(const std::string& pattern, const std::string& where)
    : compiled_(js_pattern_for_pcre2(pattern)) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UTF without UCP: \d, \w and \b stay ASCII as in JavaScript; \p{..} still sees Unicode.
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled_.data()), compiled_.size(),
                                   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &error, &offset, nullptr);
  if (code == nullptr) {
    throw FormatError(where + ": regex '" + pattern +
                      "' does not compile: " + pcre2_message(error) + " (at offset " +
                      std::to_string(offset) + " of the PCRE2 form '" + compiled_ + "')");
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) it still matches
  auto owned = std::make_shared<Code>();
  owned->code = code;
  code_ = std::move(owned);
}

JsRegex JsRegex::literal(const std::string& text, const std::string& where) {
  std::string escaped;
  for (const char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  return JsRegex(escaped, where);
}

std::vector<std::pair<size_t, size_t>> JsRegex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_->code, nullptr);
  pcre2_match_context* mc = pcre2_match_context_create(nullptr);
  // Runs of white space against \s+(?!\S) backtrack deeply: give the JIT room.
  pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
  if (stack != nullptr) pcre2_jit_stack_assign(mc, nullptr, stack);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  int rc = 0;
  while (pos <= text.size()) {
    rc = pcre2_match(code_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, mc);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    out.emplace_back(ov[0], ov[1]);
    if (ov[1] > ov[0]) {
      pos = ov[1];
    } else {
      if (ov[1] >= text.size()) break;
      size_t len = 1;
      decode_utf8(text, ov[1], &len);
      pos = ov[1] + len;
    }
  }
  if (stack != nullptr) pcre2_jit_stack_free(stack);
  pcre2_match_context_free(mc);
  pcre2_match_data_free(md);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
    throw Error("regex '" + compiled_ + "' failed on a text of " + std::to_string(text.size()) +
                " bytes: " + pcre2_message(rc));
  }
  return out;
}

std::string JsRegex::replace_all(std::string_view text, std::string_view with) const {
  std::string out;
  size_t prev = 0;
  for (const auto& [begin, end] : find_all(text)) {
    out.append(text.substr(prev, begin - prev));
    out.append(with);
    prev = end;
  }
  out.append(text.substr(prev));
  return out;
}

}  // namespace elarin
