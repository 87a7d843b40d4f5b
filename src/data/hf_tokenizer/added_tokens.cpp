// The added-token splitter: a byte trie, longest match at each position (see added_tokens.hpp).
#include "data/hf_tokenizer/added_tokens.hpp"

#include "data/hf_tokenizer/js_regex.hpp"

namespace elarin::hf_tokenizer {

AddedTokenSplitter::AddedTokenSplitter(const std::vector<AddedToken>& tokens) : tokens_(tokens) {
  nodes_.emplace_back();
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& s = tokens_[t].content;
    if (s.empty()) continue;
    first_byte_[static_cast<uint8_t>(s[0])] = true;
    int32_t node = 0;
    for (const char c : s) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
      const auto it = children_.find(key);
      if (it != children_.end()) {
        node = it->second;
      } else {
        nodes_.emplace_back();
        node = static_cast<int32_t>(nodes_.size()) - 1;
        children_.emplace(key, node);
      }
    }
    nodes_[node].token = static_cast<int32_t>(t);  // a duplicate content: the later entry wins
  }
}

std::vector<Section> AddedTokenSplitter::split(std::string_view text) const {
  std::vector<Section> sections;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    int32_t match = -1;
    size_t match_len = 0;
    if (first_byte_[static_cast<uint8_t>(text[i])]) {
      int32_t node = 0;
      for (size_t j = i; j < text.size(); ++j) {
        const auto it =
            children_.find((static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[j]));
        if (it == children_.end()) break;
        node = it->second;
        if (nodes_[node].token >= 0) match = nodes_[node].token, match_len = j - i + 1;
      }
    }
    if (match < 0) {
      ++i;
      continue;
    }
    if (i > start) sections.push_back({std::string(text.substr(start, i - start)), -1});
    sections.push_back({tokens_[match].content, match});
    i += match_len;
    start = i;
  }
  if (start < text.size()) sections.push_back({std::string(text.substr(start)), -1});
  for (size_t s = 0; s < sections.size(); ++s) {
    if (sections[s].token < 0) continue;
    const AddedToken& t = tokens_[sections[s].token];
    if (t.lstrip && s > 0) sections[s - 1].text = std::string(js_trim_end(sections[s - 1].text));
    if (t.rstrip && s + 1 < sections.size())
      sections[s + 1].text = std::string(js_trim_start(sections[s + 1].text));
  }
  return sections;
}

}  // namespace elarin::hf_tokenizer
