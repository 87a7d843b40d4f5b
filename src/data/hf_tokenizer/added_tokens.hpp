// Added tokens of tokenizer.json ("<|im_start|>", "<s>", "<think>"): found in the raw text
// before anything else, longest match first, and never merged with their neighbours; lstrip /
// rstrip swallow the white space beside them. transformers.js' behaviour, whose splitter also
// ignores single_word and normalized. Leaves out the rest of the pipeline (hf_tokenizer.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace elarin::hf_tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool lstrip = false;
  bool rstrip = false;
  bool special = false;
};

// A piece of text between added tokens (token < 0), or one added token (its index).
struct Section {
  std::string text;
  int32_t token = -1;
};

class AddedTokenSplitter {
 public:
  explicit AddedTokenSplitter(const std::vector<AddedToken>& tokens);
  // `text` cut at the added tokens, with lstrip/rstrip applied to the neighbouring sections.
  std::vector<Section> split(std::string_view text) const;

 private:
  struct TrieNode {
    int32_t token = -1;  // index of the token ending here
  };
  std::vector<AddedToken> tokens_;
  std::vector<TrieNode> nodes_;                     // node 0 is the root
  std::unordered_map<uint64_t, int32_t> children_;  // node << 8 | byte -> child node
  bool first_byte_[256] = {};
};

}  // namespace elarin::hf_tokenizer
