// BPE merges with a heap over a linked list of symbols (see bpe_model.hpp). Leaves out reading
// the files (tokenizer_files.cpp).
#include "data/hf_tokenizer/bpe_model.hpp"

#include <queue>

#include "core/utf8.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::hf_tokenizer {
namespace {

constexpr int32_t kNoSymbol = -1;
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCacheEntries = 1 << 18;

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct Node {
  int32_t symbol;
  int32_t prev, next;  // indices into the node vector, -1 at the ends
  uint32_t start;      // the word position of the node's first character: ties go leftmost
  bool alive;
};

struct Candidate {
  int32_t rank;
  uint32_t start;
  int32_t left;  // node index
  int32_t left_symbol, right_symbol;
  bool operator>(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : start > o.start;
  }
};

}  // namespace

int32_t BpeModel::intern(const std::string& s) {
  const auto [it, added] = symbols_.emplace(s, static_cast<int32_t>(symbol_text_.size()));
  if (added) {
    symbol_text_.push_back(s);
    const auto v = vocab_.find(s);
    symbol_token_.push_back(v == vocab_.end() ? -1 : v->second);
    size_t len = 0;
    const uint32_t cp = s.empty() ? kInvalidUtf8 : decode_utf8(s, 0, &len);
    if (cp != kInvalidUtf8 && len == s.size()) char_symbol_[cp] = it->second;
  }
  return it->second;
}

BpeModel::BpeModel(std::unordered_map<std::string, int32_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& where)
    : vocab_(std::move(vocab)), options_(std::move(options)), char_symbol_(0x110000, kNoSymbol) {
  symbols_.reserve(vocab_.size() + merges.size());
  symbol_text_.reserve(vocab_.size() + merges.size());
  for (const auto& [token, id] : vocab_) intern(token);
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const int32_t sa = intern(a), sb = intern(b), sab = intern(a + b);
    // A pair listed twice keeps its last rank (transformers.js builds a Map from the list).
    merges_[pair_key(sa, sb)] = {static_cast<int32_t>(rank), sab};
  }
  for (int b = 0; b < 256; ++b) {
    static const char* kHex = "0123456789ABCDEF";
    const std::string token = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
    const auto it = vocab_.find(token);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  if (options_.unk_token) {
    const auto it = vocab_.find(*options_.unk_token);
    if (it == vocab_.end())
      throw FormatError(where + ".unk_token '" + *options_.unk_token +
                        "' is not in the vocabulary");
    unk_id_ = it->second;
  }
}

std::optional<int32_t> BpeModel::id_of(const std::string& token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

int32_t BpeModel::symbol_of_char(uint32_t cp) const {
  return cp < char_symbol_.size() ? char_symbol_[cp] : kNoSymbol;
}

std::vector<int32_t> BpeModel::merge_word(std::string_view word,
                                          std::vector<std::string_view>* unknown) const {
  std::vector<Node> nodes;
  std::vector<std::string_view> chars;
  for (size_t i = 0, len = 1; i < word.size(); i += len) {
    const uint32_t cp = decode_utf8(word, i, &len);
    chars.push_back(word.substr(i, len));
    nodes.push_back({symbol_of_char(cp), static_cast<int32_t>(nodes.size()) - 1,
                     static_cast<int32_t>(nodes.size()) + 1, static_cast<uint32_t>(nodes.size()),
                     true});
  }
  if (nodes.empty()) return {};
  nodes.back().next = -1;
  if (!options_.end_of_word_suffix.empty()) {
    const auto it = symbols_.find(std::string(chars.back()) + options_.end_of_word_suffix);
    nodes.back().symbol = it == symbols_.end() ? kNoSymbol : it->second;
  }

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto consider = [&](int32_t left) {
    const int32_t right = nodes[left].next;
    if (right < 0 || nodes[left].symbol < 0 || nodes[right].symbol < 0) return;
    const auto it = merges_.find(pair_key(nodes[left].symbol, nodes[right].symbol));
    if (it == merges_.end()) return;
    queue.push(
        {it->second.first, nodes[left].start, left, nodes[left].symbol, nodes[right].symbol});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(nodes.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Node& left = nodes[c.left];
    if (!left.alive || left.symbol != c.left_symbol || left.next < 0) continue;
    Node& right = nodes[left.next];
    if (right.symbol != c.right_symbol) continue;
    left.symbol = merges_.at(pair_key(c.left_symbol, c.right_symbol)).second;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) nodes[right.next].prev = c.left;
    if (left.prev >= 0) consider(left.prev);
    consider(c.left);
  }

  std::vector<int32_t> out;
  for (int32_t i = 0; i >= 0; i = nodes[i].next) {
    out.push_back(nodes[i].symbol);
    if (nodes[i].symbol < 0) unknown->push_back(chars[nodes[i].start]);
  }
  return out;
}

void BpeModel::emit(std::string_view piece, int32_t symbol, std::vector<int64_t>* ids) const {
  if (symbol >= 0 && symbol_token_[symbol] >= 0) {
    ids->push_back(symbol_token_[symbol]);
    return;
  }
  if (options_.byte_fallback) {
    bool all = true;
    for (const char c : piece) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
    if (all) {
      for (const char c : piece) ids->push_back(byte_ids_[static_cast<uint8_t>(c)]);
      return;
    }
  }
  if (unk_id_ < 0) {
    throw Error("tokenizer: the piece '" + std::string(piece) +
                "' is not in the vocabulary and the BPE model has no unk_token");
  }
  ids->push_back(unk_id_);
}

void BpeModel::encode(const std::vector<std::string>& words, std::vector<int64_t>* ids) const {
  const size_t first = ids->size();
  for (const std::string& word : words) {
    if (word.empty()) continue;
    if (options_.ignore_merges) {
      const auto it = vocab_.find(word);
      if (it != vocab_.end()) {
        ids->push_back(it->second);
        continue;
      }
    }
    const bool cacheable = word.size() < kMaxCachedWordBytes;
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      const auto it = cache_.find(word);
      if (it != cache_.end()) {
        ids->insert(ids->end(), it->second.begin(), it->second.end());
        continue;
      }
    }
    std::vector<std::string_view> unknown;  // the characters of kNoSymbol nodes, in order
    const std::vector<int32_t> symbols = merge_word(word, &unknown);
    std::vector<int64_t> word_ids;
    size_t next_unknown = 0;
    for (const int32_t s : symbols)
      emit(s >= 0 ? std::string_view(symbol_text_[s]) : unknown[next_unknown++], s, &word_ids);
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (cache_.size() >= kMaxCacheEntries) cache_.clear();
      cache_.emplace(word, word_ids);
    }
    ids->insert(ids->end(), word_ids.begin(), word_ids.end());
  }
  if (options_.fuse_unk && unk_id_ >= 0) {
    size_t w = first;
    for (size_t r = first; r < ids->size(); ++r) {
      if ((*ids)[r] == unk_id_ && w > first && (*ids)[w - 1] == unk_id_) continue;
      (*ids)[w++] = (*ids)[r];
    }
    ids->resize(w);
  }
}

}  // namespace elarin::hf_tokenizer
