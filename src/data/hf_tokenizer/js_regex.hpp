// Regular expressions with JavaScript's semantics (the `gu` flags of transformers.js, whose
// tokenizers are elarin's oracle), run by PCRE2. tokenizer.json patterns are written for Rust's
// regex / Oniguruma; transformers.js rewrites a few of them and JavaScript then gives \s, `.`
// and `$` their own meanings. This class makes PCRE2 match exactly what JavaScript matches.
// Leaves out flags other than `gu`, and JavaScript-only syntax (named groups `\k<x>`).
//
//   JsRegex re(R"(\s+(?!\S)|\s+| ?\p{L}+)", "tokenizer.json: pre_tokenizer.pattern");
//   for (auto [begin, end] : re.find_all("hello  world")) { ... }  // byte offsets
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elarin {

// True for the code points JavaScript's \s and String.trim treat as white space.
bool is_js_space(uint32_t cp);

// `s` without JavaScript white space at the start (trimStart) or end (trimEnd).
std::string_view js_trim_start(std::string_view s);
std::string_view js_trim_end(std::string_view s);

class JsRegex {
 public:
  // `pattern` is tokenizer.json's "Regex" string; `where` names it in errors (FormatError).
  JsRegex(const std::string& pattern, const std::string& where);
  // A pattern matching `text` literally (tokenizer.json's "String" patterns).
  static JsRegex literal(const std::string& text, const std::string& where);

  // Non-overlapping matches in `text` (valid UTF-8), left to right, as byte ranges: what
  // JavaScript's text.matchAll(re) finds. An empty match advances by one character.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  // `text` with every match replaced by `with` (JavaScript's replaceAll with a plain string).
  std::string replace_all(std::string_view text, std::string_view with) const;

  // The PCRE2 pattern actually compiled (for messages and tests).
  const std::string& compiled_pattern() const { return compiled_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string compiled_;
};

// The rewrite of a tokenizer.json pattern into PCRE2 syntax with JavaScript's meaning:
// transformers.js' replacement table (the case-insensitive contraction group), \s and \S as
// JavaScript's white space set, `.` excluding only JavaScript's line terminators.
std::string js_pattern_for_pcre2(const std::string& pattern);

}  // namespace elarin
