// Byte-level BPE as GPT-2 does it: the bytes_to_unicode map, GPT-2's pre-tokenizer regex written
// by hand over UTF-8, and the rank-ordered merge loop. Leaves out reading files (tokenizer.cpp).
#pragma once

#include "elarin/models/hf/tokenizer.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace elarin {

// GPT-2's bytes_to_unicode: the code point that stands for `byte` in vocab and merges files.
// Printable Latin-1 bytes stand for themselves; the other 68 map to U+0100.. in byte order
// (space 0x20 -> U+0120 'Ġ', newline 0x0A -> U+010A 'Ċ').
uint32_t gpt2_byte_to_unicode(uint8_t byte);

// That code point as UTF-8 (one or two bytes).
std::string gpt2_byte_to_unicode_utf8(uint8_t byte);

// Splits text as GPT-2's regex does:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// \p{L} and \p{N} come from an exact Unicode 17 category table (not an approximation by script
// block); \s is the White_Space property. A byte that is not part of valid UTF-8 counts as one
// "other" character (neither letter, number nor space). The pieces cover `text` exactly.
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

// One merge rule, as token ids: left + right -> result.
struct BpeMerge {
  int32_t left;
  int32_t right;
  int32_t result;
};

// A token matched verbatim in the text before pre-tokenisation (e.g. "<|endoftext|>").
struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool lstrip = false;  // also swallows the whitespace before it
  bool rstrip = false;  // also swallows the whitespace after it
};

// What the loader read; ByteLevelBpe trusts the ids in it (the loader checked them).
struct ByteLevelBpeSpec {
  std::string source;                              // file it came from, for messages
  std::unordered_map<std::string, int32_t> vocab;  // token in byte-level form -> id
  std::vector<BpeMerge> merges;                    // rank order: earlier merges apply first
  std::vector<AddedToken> added;
  bool add_prefix_space = false;  // ByteLevel: prepend ' ' to a text not starting with one
  bool use_regex = true;          // ByteLevel: split with the GPT-2 regex before BPE
  bool ignore_merges = false;     // BPE: a piece that is already in the vocab is one token
};

class ByteLevelBpe final : public Tokenizer {
 public:
  explicit ByteLevelBpe(ByteLevelBpeSpec spec);
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_bytes_.size()); }

 private:
  // Where the next added token starts at or after `from` (npos: none); it goes to *found.
  size_t find_added(std::string_view text, size_t from, const AddedToken** found) const;
  // Text without added tokens: prefix space, pre-tokenizer, BPE per piece.
  void encode_plain(std::string_view text, std::vector<int64_t>* out) const;
  void encode_piece(std::string_view piece, std::vector<int64_t>* out) const;
  std::vector<int32_t> merge_piece(std::string_view piece) const;

  std::string source_;
  std::unordered_map<std::string, int32_t> vocab_;
  // (left << 32 | right) -> (rank, result).
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::array<int32_t, 256> byte_ids_;  // -1 where the vocab lacks that byte
  std::vector<std::string> id_bytes_;  // id -> the bytes it decodes to
  std::vector<bool> id_known_;         // false for gaps in the id range
  std::vector<AddedToken> added_;
  std::array<bool, 256> added_first_byte_{};  // quick rejection while scanning for added tokens
  bool add_prefix_space_;
  bool use_regex_;
  bool ignore_merges_;

  // Pieces repeat a lot in real text (" the", ","), so merge results are cached by piece bytes.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace elarin
