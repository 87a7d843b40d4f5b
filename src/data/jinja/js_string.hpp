// JavaScript string and number semantics that @huggingface/jinja exposes to templates, on
// UTF-8 text: UTF-16 lengths and indexes, JS whitespace, case mapping, Number formatting and
// parsing, JSON.stringify of a string. Leaves out locale-sensitive collation (see tojson).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elarin::jinja {

// Code points of UTF-8 text. Lone surrogates (from "\ud800" escapes or UTF-16 indexing) travel
// as 3-byte "WTF-8" sequences and decode to 0xD800..0xDFFF; an encoded high+low pair decodes
// to the one astral code point, as a JS string would. A malformed byte decodes to U+FFFD.
std::vector<char32_t> to_code_points(std::string_view text);
std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end);
void append_code_point(std::string& out, char32_t cp);

// Joins encoded surrogate pairs into 4-byte UTF-8 and, when `replace_lone` is set, turns lone
// surrogates into U+FFFD (what Node writes for them).
std::string normalize_surrogates(std::string_view text, bool replace_lone);

// String.prototype.length: UTF-16 code units.
size_t utf16_length(std::string_view text);
// String.prototype.at(index) (negative counts from the end): one UTF-16 code unit, which may
// be half of a surrogate pair. False when out of range.
bool utf16_at(std::string_view text, double index, std::string* out);
// a < b in UTF-16 code unit order (JS string comparison): -1, 0 or 1.
int utf16_compare(std::string_view a, std::string_view b);

// The JS whitespace set of String.prototype.trim, /\s/ and the lexer.
bool is_js_whitespace(char32_t cp);
std::string trim_start(std::string_view text);
std::string trim_end(std::string_view text);
std::string trim(std::string_view text);

// String.prototype.toUpperCase/toLowerCase (locale-independent, full Unicode mappings).
std::string to_upper(std::string_view text);
std::string to_lower(std::string_view text);
// The upper case of one code point, possibly several code points (U+00DF -> "SS").
std::string upper_of(char32_t cp);

// The oracle's title(): upper-cases each ASCII word character that follows a non-word one
// (/\b\w/g) and leaves the rest alone, unlike Python's str.title().
std::string title_case(std::string_view text);
// The oracle's capitalize(): the first UTF-16 unit upper-cased, the rest unchanged.
std::string capitalize(std::string_view text);

// Number.prototype.toString(): "1", "0.1", "1e+21", "-1.5e-7", "NaN", "Infinity".
std::string js_number_to_string(double value);
// JSON.stringify of a number: as above, but NaN and infinities are "null" and -0 is "0".
std::string js_number_to_json(double value);
// Jinja's FloatValue printing: integral values keep ".0" (toFixed(1)), -0 is "-0.0".
std::string js_float_to_string(double value);
// parseInt(text, 10) and parseFloat(text); NaN when nothing parses.
double js_parse_int(std::string_view text);
double js_parse_float(std::string_view text);
// Number(text), as used by loose equality: trimmed, "" is 0, hex/octal/binary, else NaN.
double js_string_to_number(std::string_view text);

// JSON.stringify of a string: quotes, escapes " \ and control characters (\u00XX lower-case),
// lone surrogates as \udXXX; everything else (including non-ASCII) verbatim.
std::string json_quote(std::string_view text);
// Jinja's ensure_ascii: every UTF-16 unit in U+007F..U+FFFF as \uXXXX (lower-case hex).
std::string ascii_escape(std::string_view json);

// The case-mapping tables (case_tables.cpp).
struct CaseRun {
  uint32_t start, end;
  uint32_t stride;
  int32_t delta;
};
struct CaseSpecial {
  uint32_t cp;
  uint32_t out[3];  // 0-terminated when shorter
};
extern const CaseRun kUpperRuns[];
extern const size_t kUpperRunCount;
extern const CaseSpecial kUpperSpecials[];
extern const size_t kUpperSpecialCount;
extern const CaseRun kLowerRuns[];
extern const size_t kLowerRunCount;
extern const CaseSpecial kLowerSpecials[];
extern const size_t kLowerSpecialCount;

}  // namespace elarin::jinja
