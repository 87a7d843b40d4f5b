// tokenizer.json's BPE model: merges applied in rank order over a word's characters, with
// byte fallback and unknown-token fusion, exactly as transformers.js applies them (the
// lowest rank first, the leftmost among equals). Leaves out dropout (a training device) and
// continuing_subword_prefix (WordPiece-style BPE; refused when set).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace elarin::hf_tokenizer {

struct BpeOptions {
  std::optional<std::string> unk_token;  // the id a piece outside the vocabulary gets
  std::string end_of_word_suffix;        // appended to a word's last character before merging
  bool byte_fallback = false;            // a piece outside the vocabulary -> its <0x..> tokens
  bool fuse_unk = false;                 // consecutive unknown pieces -> one unk id
  bool ignore_merges = false;            // a word already in the vocabulary is one token
};

class BpeModel {
 public:
  // `vocab` maps every token (added tokens included) to its id; `merges` in rank order.
  // Throws FormatError (naming `where`) for a merge whose parts were never seen.
  BpeModel(std::unordered_map<std::string, int32_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& where);

  // Ids of pre-tokenized words (one section of text); fuse_unk works across them.
  void encode(const std::vector<std::string>& words, std::vector<int64_t>* ids) const;
  // The id of a token string, if it has one.
  std::optional<int32_t> id_of(const std::string& token) const;

 private:
  // The symbols a word merges into (symbol ids; kNoSymbol for a character never seen).
  std::vector<int32_t> merge_word(std::string_view word,
                                  std::vector<std::string_view>* unknown) const;
  void emit(std::string_view piece, int32_t symbol, std::vector<int64_t>* ids) const;
  int32_t symbol_of_char(uint32_t cp) const;
  int32_t intern(const std::string& s);

  std::unordered_map<std::string, int32_t> vocab_;
  BpeOptions options_;
  // Every string that is a token or part or result of a merge gets a symbol id.
  std::unordered_map<std::string, int32_t> symbols_;
  std::vector<std::string> symbol_text_;
  std::vector<int32_t> symbol_token_;  // symbol -> token id, -1 when not a token
  std::vector<int32_t> char_symbol_;   // code point -> symbol of that one character
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (a,b) -> (rank, a+b)
  int32_t byte_ids_[256];  // <0xXX> token ids, -1 when absent
  int32_t unk_id_ = -1;

  // Words repeat (" the", ","), so merge results of short words are cached, as transformers.js
  // caches words shorter than 256 characters.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

}  // namespace elarin::hf_tokenizer
