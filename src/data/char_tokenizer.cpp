// Character-level tokenizer (see the header).
#include "elarin/data/char_tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <set>

#include "core/utf8.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

// The code point at s[i], advancing i; Error on malformed UTF-8 (the shared strict decoder).
char32_t next_code_point(const std::string& s, size_t& i) {
  size_t len;
  const uint32_t cp = decode_utf8(s, i, &len);
  if (cp == kInvalidUtf8) throw Error("text is not valid UTF-8 at byte " + std::to_string(i));
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) { out += encode_utf8(cp); }

std::string hex(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04X", static_cast<unsigned>(cp));
  return buf;
}

}  // namespace

CharTokenizer CharTokenizer::fit(const std::string& text) {
  std::set<char32_t> seen;
  for (size_t i = 0; i < text.size();) seen.insert(next_code_point(text, i));
  if (seen.size() < 2) throw Error("char tokenizer: the text has fewer than 2 distinct characters");
  CharTokenizer t;
  t.symbols_.assign(seen.begin(), seen.end());
  for (size_t k = 0; k < t.symbols_.size(); ++k) t.index_[t.symbols_[k]] = static_cast<int64_t>(k);
  return t;
}

CharTokenizer CharTokenizer::from_json(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.size() < 2)
    throw Error("char tokenizer: expected a JSON array of at least 2 characters");
  CharTokenizer t;
  for (const auto& item : j) {
    if (!item.is_string()) throw Error("char tokenizer: vocabulary entries must be strings");
    const auto s = item.get<std::string>();
    size_t i = 0;
    if (s.empty()) throw Error("char tokenizer: empty vocabulary entry");
    const char32_t cp = next_code_point(s, i);
    if (i != s.size()) throw Error("char tokenizer: entry '" + s + "' is not one character");
    if (!t.symbols_.empty() && cp <= t.symbols_.back())
      throw Error("char tokenizer: vocabulary not in ascending order at '" + s + "'");
    t.index_[cp] = static_cast<int64_t>(t.symbols_.size());
    t.symbols_.push_back(cp);
  }
  return t;
}

std::string CharTokenizer::to_json() const {
  auto j = nlohmann::json::array();
  for (auto cp : symbols_) {
    std::string s;
    append_utf8(s, cp);
    j.push_back(s);
  }
  return j.dump();
}

std::vector<int64_t> CharTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const char32_t cp = next_code_point(text, i);
    auto it = index_.find(cp);
    if (it == index_.end()) {
      std::string c;
      append_utf8(c, cp);
      throw Error("char tokenizer: character '" + c + "' (U+" + hex(cp) + ") at byte " +
                  std::to_string(at) + " is not in the " + std::to_string(vocab_size()) +
                  "-symbol vocabulary");
    }
    ids.push_back(it->second);
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (auto id : ids) {
    if (id < 0 || id >= vocab_size())
      throw Error("char tokenizer: id " + std::to_string(id) + " out of range 0.." +
                  std::to_string(vocab_size() - 1));
    append_utf8(out, symbols_[static_cast<size_t>(id)]);
  }
  return out;
}

}  // namespace elarin
