// SentencePiece normalisation (see the header), step for step as spm 0.1.97's normalizer.cc.
#include "data/sentencepiece_normalizer.hpp"

#include <algorithm>

#include "core/utf8.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::spm {
namespace {

constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";      // U+2581
constexpr std::string_view kReplacementChar = "\xef\xbf\xbd";  // U+FFFD
constexpr size_t kMaxTrieResults = 32;                         // Normalizer::kMaxTrieResultsSize

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

PrefixMatcher::PrefixMatcher(const std::vector<std::string>& symbols) {
  for (const auto& s : symbols) {
    if (s.empty()) continue;
    symbols_.insert(s);
    first_bytes_.set(static_cast<uint8_t>(s[0]));
    max_len_ = std::max(max_len_, s.size());
  }
}

size_t PrefixMatcher::match(std::string_view s, bool* found) const {
  *found = false;
  if (s.empty()) return 0;
  if (first_bytes_.test(static_cast<uint8_t>(s[0]))) {
    for (size_t n = std::min(max_len_, s.size()); n > 0; --n) {
      if (symbols_.count(std::string(s.substr(0, n)))) {
        *found = true;
        return n;
      }
    }
  }
  return std::min(s.size(), one_char_len(s[0]));
}

Normalizer::Normalizer(const NormalizerSpec& spec, bool treat_whitespace_as_suffix,
                       const PrefixMatcher* matcher, const std::string& file)
    : spec_(spec),
      treat_whitespace_as_suffix_(treat_whitespace_as_suffix),
      matcher_(matcher),
      file_(file) {
  const std::string& blob = spec_.precompiled_charsmap;
  if (blob.empty()) return;
  auto broken = [&](const std::string& what) {
    return FormatError("sentencepiece model '" + file + "': normalizer '" + spec_.name +
                       "' has a broken precompiled_charsmap: " + what);
  };
  if (blob.size() <= 4) throw broken(std::to_string(blob.size()) + " bytes, too short");
  uint32_t trie_size = 0;
  for (int k = 0; k < 4; ++k) trie_size |= uint32_t(uint8_t(blob[k])) << (8 * k);
  if (trie_size > blob.size() - 4)
    throw broken("trie size " + std::to_string(trie_size) + " exceeds the " +
                 std::to_string(blob.size()) + "-byte blob");
  if (trie_size % 4 != 0 || trie_size == 0)
    throw broken("trie size " + std::to_string(trie_size) + " is not a positive multiple of 4");
  std::vector<uint32_t> units(trie_size / 4);
  for (size_t u = 0; u < units.size(); ++u) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= uint32_t(uint8_t(blob[4 + 4 * u + k])) << (8 * k);
    units[u] = v;
  }
  trie_ = DoubleArray(std::move(units));
  normalized_ = blob.substr(4 + trie_size);
}

std::pair<std::string_view, size_t> Normalizer::normalize_prefix(std::string_view input) const {
  if (input.empty()) return {{}, 0};
  if (matcher_ != nullptr && !matcher_->empty()) {
    bool found = false;
    const size_t len = matcher_->match(input, &found);
    if (found) return {input.substr(0, len), len};
  }
  size_t longest_length = 0;
  uint32_t longest_value = 0;
  trie_.common_prefix_search(input, kMaxTrieResults, [&](size_t length, uint32_t value) {
    if (longest_length == 0 || length > longest_length) {
      longest_length = length;
      longest_value = value;
    }
  });
  if (longest_length == 0) {
    size_t len = 0;
    if (decode_utf8(input, 0, &len) == kInvalidUtf8) return {kReplacementChar, 1};
    return {input.substr(0, len), len};
  }
  if (longest_value >= normalized_.size())
    throw FormatError("sentencepiece model '" + file_ + "': normalizer '" + spec_.name +
                      "' points at byte " + std::to_string(longest_value) + " of its " +
                      std::to_string(normalized_.size()) + "-byte string table");
  const size_t end = normalized_.find('\0', longest_value);
  const size_t n = (end == std::string::npos ? normalized_.size() : end) - longest_value;
  return {std::string_view(normalized_).substr(longest_value, n), longest_length};
}

std::string Normalizer::normalize(std::string_view input) const {
  std::string out;
  if (input.empty()) return out;
  if (spec_.remove_extra_whitespaces) {  // heading spaces
    while (!input.empty()) {
      const auto p = normalize_prefix(input);
      if (p.first != " ") break;
      input.remove_prefix(p.second);
    }
  }
  if (input.empty()) return out;
  out.reserve(input.size() * 3);
  auto add_ws = [&] {
    if (spec_.escape_whitespaces) {
      out += kSpaceSymbol;
    } else {
      out += ' ';
    }
  };
  if (!treat_whitespace_as_suffix_ && spec_.add_dummy_prefix) add_ws();
  bool is_prev_space = spec_.remove_extra_whitespaces;
  while (!input.empty()) {
    const auto p = normalize_prefix(input);
    std::string_view sp = p.first;
    while (is_prev_space && !sp.empty() && sp.front() == ' ') sp.remove_prefix(1);
    if (!sp.empty()) {
      for (char c : sp) {
        if (spec_.escape_whitespaces && c == ' ') {
          out += kSpaceSymbol;
        } else {
          out += c;
        }
      }
      is_prev_space = sp.back() == ' ';
    }
    input.remove_prefix(p.second);
    if (!spec_.remove_extra_whitespaces) is_prev_space = false;
  }
  if (spec_.remove_extra_whitespaces) {  // trailing spaces
    const std::string_view space = spec_.escape_whitespaces ? kSpaceSymbol : " ";
    while (ends_with(out, space)) out.resize(out.size() - space.size());
  }
  if (treat_whitespace_as_suffix_ && spec_.add_dummy_prefix) add_ws();
  return out;
}

}  // namespace elarin::spm
