// SentencePiece's text normalisation, as normalizer.cc does it: user-defined symbols pass
// untouched, the precompiled_charsmap (a darts-clone double-array trie over UTF-8 plus a blob
// of NUL-terminated replacement strings, e.g. nmt_nfkc) rewrites the longest matching prefix,
// malformed UTF-8 becomes U+FFFD, then extra whitespace is removed, a dummy prefix added and
// spaces escaped to U+2581. Leaves out the norm-to-original offsets (ids need none).
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "data/sentencepiece_model.hpp"

namespace elarin::spm {

// Bytes of the UTF-8 character that starts with byte `b`, from the lead byte alone (spm's
// OneCharLen: 1 for ASCII and stray continuation bytes).
inline size_t one_char_len(char b) {
  return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[static_cast<uint8_t>(b) >> 4];
}

// A read-only darts-clone double array (the unit layout of darts.h).
class DoubleArray {
 public:
  DoubleArray() = default;
  explicit DoubleArray(std::vector<uint32_t> units) : units_(std::move(units)) {}
  bool empty() const { return units_.empty(); }

  // Calls on_match(length, value) for each key that is a prefix of `key`, shortest first, up to
  // `max_results` of them (darts' commonPrefixSearch). A unit index out of the array ends the
  // walk, so a corrupt trie cannot read out of bounds.
  template <class F>
  void common_prefix_search(std::string_view key, size_t max_results, F on_match) const {
    if (units_.empty()) return;
    size_t id = offset(units_[0]);
    size_t found = 0;
    for (size_t i = 0; i < key.size(); ++i) {
      const uint8_t c = static_cast<uint8_t>(key[i]);
      id ^= c;
      if (id >= units_.size()) return;
      const uint32_t unit = units_[id];
      if (label(unit) != c) return;
      id ^= offset(unit);
      if (has_leaf(unit)) {
        if (id >= units_.size()) return;
        if (found < max_results) on_match(i + 1, value(units_[id]));
        ++found;
      }
    }
  }

 private:
  static bool has_leaf(uint32_t u) { return (u >> 8) & 1; }
  static uint32_t value(uint32_t u) { return u & ((1U << 31) - 1); }
  static uint32_t label(uint32_t u) { return u & ((1U << 31) | 0xFF); }
  static size_t offset(uint32_t u) { return (u >> 10) << ((u & (1U << 9)) >> 6); }

  std::vector<uint32_t> units_;
};

// Longest-match lookup of the user-defined symbols (spm's PrefixMatcher).
class PrefixMatcher {
 public:
  PrefixMatcher() = default;
  explicit PrefixMatcher(const std::vector<std::string>& symbols);
  // The length of the longest symbol that starts `s` (*found = true), else of its first
  // character (spm's OneCharLen, clipped to the input).
  size_t match(std::string_view s, bool* found) const;
  bool empty() const { return symbols_.empty(); }

 private:
  std::unordered_set<std::string> symbols_;
  std::bitset<256> first_bytes_;
  size_t max_len_ = 0;
};

class Normalizer {
 public:
  Normalizer() = default;
  // FormatError naming `file` when the precompiled_charsmap is broken. `matcher` must outlive
  // the normalizer.
  Normalizer(const NormalizerSpec& spec, bool treat_whitespace_as_suffix,
             const PrefixMatcher* matcher, const std::string& file);
  std::string normalize(std::string_view input) const;

 private:
  // The normalized form of the longest rule matching a prefix of `input`, and the bytes of
  // input it consumes.
  std::pair<std::string_view, size_t> normalize_prefix(std::string_view input) const;

  NormalizerSpec spec_;
  bool treat_whitespace_as_suffix_ = false;
  const PrefixMatcher* matcher_ = nullptr;
  DoubleArray trie_;
  std::string normalized_;  // the replacement strings blob, NUL-terminated entries
  std::string file_;
};

}  // namespace elarin::spm
