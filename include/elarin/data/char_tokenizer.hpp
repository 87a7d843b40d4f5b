// Character-level tokenizer as in nanoGPT's shakespeare_char: the vocabulary is the sorted
// set of the corpus's Unicode code points (UTF-8 decoded), id = rank. Leaves out subword
// tokenizers (SentencePiece has its own reader) and normalisation.
//
//   std::string text = "To be, or not to be";
//   auto tok = elarin::CharTokenizer::fit(text);  // tinyshakespeare: 65 symbols, '\n' = 0
//   std::vector<int64_t> ids = tok.encode("To be");
//   std::string back = tok.decode(ids);                           // "To be"
//   auto same = elarin::CharTokenizer::from_json(tok.to_json());  // how checkpoints store it
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace elarin {

class CharTokenizer {
 public:
  static CharTokenizer fit(const std::string& utf8_text);  // Error on invalid UTF-8
  // From the symbol list (a JSON array of one-character strings, as `to_json` writes).
  static CharTokenizer from_json(const std::string& json);
  std::string to_json() const;

  // Error naming the first character that is not in the vocabulary, and its byte offset.
  std::vector<int64_t> encode(const std::string& utf8_text) const;
  std::string decode(const std::vector<int64_t>& ids) const;  // Error on an id out of range
  int64_t vocab_size() const { return static_cast<int64_t>(symbols_.size()); }
  bool contains(char32_t cp) const { return index_.count(cp) != 0; }

 private:
  std::vector<char32_t> symbols_;                // id -> code point, ascending
  std::unordered_map<char32_t, int64_t> index_;  // code point -> id
};

}  // namespace elarin
