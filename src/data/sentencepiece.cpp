// SentencePiece unigram / BPE encoding and decoding (see the header). Each step follows
// spm 0.1.97: model_interface.cc (piece tables), unigram_model.cc (EncodeOptimized),
// bpe_model.cc (SampleEncode with alpha 0), sentencepiece_processor.cc (unknown runs, byte
// fallback, Decode). Float types are kept as spm has them, since ties decide between paths.
#include "elarin/data/sentencepiece.hpp"

#include <algorithm>
#include <array>
#include <cfloat>
#include <functional>
#include <queue>
#include <unordered_map>

#include "core/utf8.hpp"
#include "data/sentencepiece_model.hpp"
#include "data/sentencepiece_normalizer.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

using spm::PieceType;

constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";      // U+2581
constexpr std::string_view kReplacementChar = "\xef\xbf\xbd";  // U+FFFD
constexpr float kUnkPenalty = 10.0f;

// The byte of "<0xXX>" (upper-case hex, as spm writes them), or -1.
int piece_to_byte(std::string_view p) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const int hi = hex(p[3]), lo = hex(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// A byte trie over the vocabulary (what spm's darts trie answers for the unigram Viterbi).
class ByteTrie {
 public:
  ByteTrie() : values_(1, -1) {}
  void insert(std::string_view key, int32_t value) {
    int32_t node = 0;
    for (char c : key) {
      const uint64_t edge = (uint64_t(node) << 8) | uint8_t(c);
      auto it = edges_.find(edge);
      if (it == edges_.end()) {
        it = edges_.emplace(edge, int32_t(values_.size())).first;
        values_.push_back(-1);
      }
      node = it->second;
    }
    values_[node] = value;
  }
  int32_t child(int32_t node, char c) const {
    auto it = edges_.find((uint64_t(node) << 8) | uint8_t(c));
    return it == edges_.end() ? -1 : it->second;
  }
  int32_t value(int32_t node) const { return values_[node]; }

 private:
  std::vector<int32_t> values_;
  std::unordered_map<uint64_t, int32_t> edges_;
};

using EncodeResult = std::vector<std::pair<std::string_view, int>>;

}  // namespace

struct SentencePieceTokenizer::Impl {
  spm::ModelProto proto;
  std::string file;
  // model_interface.cc: NORMAL / USER_DEFINED / UNUSED pieces, and the reserved ones
  // (UNKNOWN / CONTROL / BYTE); views into proto.pieces, which never moves after load.
  std::unordered_map<std::string_view, int> pieces;
  std::unordered_map<std::string_view, int> reserved;
  int unk_id = -1;
  std::array<int, 256> byte_ids{};
  spm::PrefixMatcher matcher;
  spm::Normalizer normalizer;
  float min_score = FLT_MAX, max_score = FLT_MIN;  // over NORMAL pieces (spm's initial values)
  ByteTrie trie;                                   // unigram

  PieceType type(int id) const { return proto.pieces[size_t(id)].type; }
  int piece_to_id(std::string_view w) const {
    if (auto it = reserved.find(w); it != reserved.end()) return it->second;
    if (auto it = pieces.find(w); it != pieces.end()) return it->second;
    return unk_id;
  }
  EncodeResult encode_unigram(std::string_view normalized) const;
  EncodeResult encode_bpe(std::string_view normalized) const;
};

namespace {

void build(SentencePieceTokenizer::Impl& m) {
  const auto& p = m.proto;
  auto bad = [&](const std::string& what) {
    return FormatError("sentencepiece model '" + m.file + "': " + what);
  };
  if (p.model_type != spm::ModelType::kUnigram && p.model_type != spm::ModelType::kBpe) {
    throw bad(std::string("model_type ") +
              (p.model_type == spm::ModelType::kWord ? "word" : "char") +
              ": elarin reads unigram and bpe models only (train with --model_type unigram|bpe)");
  }
  if (p.pieces.empty()) throw bad("no pieces (an empty or non-SentencePiece file?)");
  // A protobuf cut at a field boundary still parses; spm_train always writes both specs
  // after the pieces, so their absence is how a truncated file shows.
  if (!p.has_trainer_spec) throw bad("no trainer_spec (truncated file?)");
  if (!p.has_normalizer_spec) throw bad("no normalizer_spec (truncated file?)");
  if (p.has_denormalizer && !p.denormalizer.precompiled_charsmap.empty())
    throw bad("denormalization rules are not supported by elarin's reader");
  std::vector<bool> byte_found(256, false);
  std::vector<std::string> user_defined;
  m.byte_ids.fill(-1);
  for (size_t i = 0; i < p.pieces.size(); ++i) {
    const auto& sp = p.pieces[i];
    const int id = static_cast<int>(i);
    if (sp.piece.empty()) throw bad("piece " + std::to_string(i) + " is empty");
    if (sp.piece.find('\0') != std::string::npos)
      throw bad("piece " + std::to_string(i) + " holds a NUL byte");
    const bool normal = sp.type == PieceType::kNormal || sp.type == PieceType::kUserDefined ||
                        sp.type == PieceType::kUnused;
    auto& table = normal ? m.pieces : m.reserved;
    if (!table.emplace(std::string_view(sp.piece), id).second)
      throw bad("piece '" + sp.piece + "' is defined twice (ids " +
                std::to_string(table.at(sp.piece)) + " and " + std::to_string(i) + ")");
    if (sp.type == PieceType::kUserDefined) user_defined.push_back(sp.piece);
    if (sp.type == PieceType::kUnknown) {
      if (m.unk_id >= 0)
        throw bad("two unknown pieces (ids " + std::to_string(m.unk_id) + " and " +
                  std::to_string(i) + ")");
      m.unk_id = id;
    }
    if (sp.type == PieceType::kByte) {
      if (!p.byte_fallback)
        throw bad("byte piece '" + sp.piece + "' although byte_fallback is false");
      const int b = piece_to_byte(sp.piece);
      if (b < 0) throw bad("byte piece '" + sp.piece + "' is not of the form <0xXX>");
      byte_found[size_t(b)] = true;
      m.byte_ids[size_t(b)] = id;
    }
    if (sp.type == PieceType::kNormal) {
      m.min_score = std::min(m.min_score, sp.score);
      m.max_score = std::max(m.max_score, sp.score);
    }
  }
  if (m.unk_id < 0) throw bad("no unknown piece (<unk>)");
  if (p.byte_fallback && std::find(byte_found.begin(), byte_found.end(), false) != byte_found.end())
    throw bad("byte_fallback is true but the 256 byte pieces <0x00>..<0xFF> are not all there");
  if (p.model_type == spm::ModelType::kUnigram) {
    if (m.pieces.empty()) throw bad("no normal pieces");
    for (const auto& [w, id] : m.pieces) m.trie.insert(w, id);
  }
  m.matcher = spm::PrefixMatcher(user_defined);
  m.normalizer = spm::Normalizer(p.normalizer, p.treat_whitespace_as_suffix, &m.matcher, m.file);
}

}  // namespace

// unigram_model.cc, Model::EncodeOptimized: the best path ending at each byte position.
EncodeResult SentencePieceTokenizer::Impl::encode_unigram(std::string_view normalized) const {
  struct BestPathNode {
    int id = -1;
    float best_path_score = 0;
    int64_t starts_at = -1;
  };
  const size_t size = normalized.size();
  const float unk_score = min_score - kUnkPenalty;
  std::vector<BestPathNode> best(size + 1);
  size_t starts_at = 0;
  while (starts_at < size) {
    const float best_path_score_till_here = best[starts_at].best_path_score;
    bool has_single_node = false;
    const size_t mblen = std::min(spm::one_char_len(normalized[starts_at]), size - starts_at);
    int32_t node = 0;
    for (size_t key_pos = starts_at; key_pos < size;) {
      node = trie.child(node, normalized[key_pos++]);
      if (node < 0) break;
      const int id = trie.value(node);
      if (id < 0 || type(id) == PieceType::kUnused) continue;
      auto& target = best[key_pos];
      const size_t length = key_pos - starts_at;
      // spm's `auto score = user ? (length * max_score_ - 0.1) : GetScore(id)` is a double.
      const double score = type(id) == PieceType::kUserDefined
                               ? static_cast<double>(static_cast<float>(length) * max_score) - 0.1
                               : static_cast<double>(proto.pieces[size_t(id)].score);
      const double candidate = score + best_path_score_till_here;
      if (target.starts_at == -1 || candidate > target.best_path_score) {
        target.best_path_score = static_cast<float>(candidate);
        target.starts_at = static_cast<int64_t>(starts_at);
        target.id = id;
      }
      if (!has_single_node && length == mblen) has_single_node = true;
    }
    if (!has_single_node) {
      auto& target = best[starts_at + mblen];
      const float candidate = unk_score + best_path_score_till_here;
      if (target.starts_at == -1 || candidate > target.best_path_score) {
        target.best_path_score = candidate;
        target.starts_at = static_cast<int64_t>(starts_at);
        target.id = unk_id;
      }
    }
    starts_at += mblen;
  }
  EncodeResult results;
  for (size_t ends_at = size; ends_at > 0;) {
    const auto& node = best[ends_at];
    if (node.starts_at < 0 || size_t(node.starts_at) >= ends_at)
      throw Error("sentencepiece: no segmentation path (internal error)");
    results.emplace_back(
        normalized.substr(size_t(node.starts_at), ends_at - size_t(node.starts_at)), node.id);
    ends_at = size_t(node.starts_at);
  }
  std::reverse(results.begin(), results.end());
  return results;
}

// bpe_model.cc, Model::SampleEncode with alpha 0: repeatedly merge the adjacent pair whose
// joined piece has the highest score, the leftmost among equal scores; user-defined symbols
// are frozen; UNUSED pieces are split back into what was merged.
EncodeResult SentencePieceTokenizer::Impl::encode_bpe(std::string_view normalized) const {
  struct SymbolPair {
    int left, right;
    float score;
    size_t size;
  };
  struct Lower {  // the priority_queue's "less": lower score, then the right-more pair
    bool operator()(const SymbolPair& a, const SymbolPair& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  struct Symbol {
    int prev, next;
    bool freeze;
    std::string_view piece;
  };
  std::priority_queue<SymbolPair, std::vector<SymbolPair>, Lower> agenda;
  std::vector<Symbol> symbols;
  symbols.reserve(normalized.size());
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;

  auto maybe_add_pair = [&](int left, int right) {
    if (left == -1 || right == -1 || symbols[size_t(left)].freeze || symbols[size_t(right)].freeze)
      return;
    const auto& l = symbols[size_t(left)];
    const std::string_view piece(l.piece.data(),
                                 l.piece.size() + symbols[size_t(right)].piece.size());
    const auto it = pieces.find(piece);
    if (it == pieces.end()) return;
    agenda.push({left, right, proto.pieces[size_t(it->second)].score, piece.size()});
    if (type(it->second) == PieceType::kUnused)
      rev_merge[piece] = {l.piece, symbols[size_t(right)].piece};
  };

  std::string_view rest = normalized;
  int index = 0;
  while (!rest.empty()) {
    Symbol s;
    const size_t mblen = matcher.match(rest, &s.freeze);
    s.piece = rest.substr(0, mblen);
    s.prev = index == 0 ? -1 : index - 1;
    rest.remove_prefix(mblen);
    s.next = rest.empty() ? -1 : index + 1;
    ++index;
    symbols.push_back(s);
  }
  if (symbols.empty()) return {};
  for (size_t i = 1; i < symbols.size(); ++i) maybe_add_pair(int(i) - 1, int(i));

  while (!agenda.empty()) {
    const SymbolPair top = agenda.top();
    agenda.pop();
    auto& l = symbols[size_t(top.left)];
    auto& r = symbols[size_t(top.right)];
    if (l.piece.empty() || r.piece.empty() || l.piece.size() + r.piece.size() != top.size)
      continue;  // stale: one side was merged since
    l.piece = std::string_view(l.piece.data(), l.piece.size() + r.piece.size());
    l.next = r.next;
    if (r.next >= 0) symbols[size_t(r.next)].prev = top.left;
    r.piece = std::string_view();
    maybe_add_pair(l.prev, top.left);
    maybe_add_pair(top.left, l.next);
  }

  EncodeResult output;
  // Recursion depth is bounded by the length of one piece.
  std::function<void(std::string_view)> resegment = [&](std::string_view w) {
    const int id = piece_to_id(w);
    if (id == -1 || type(id) != PieceType::kUnused) {
      output.emplace_back(w, id);
      return;
    }
    const auto p = rev_merge.find(w);
    if (p == rev_merge.end()) {
      output.emplace_back(w, id);
      return;
    }
    resegment(p->second.first);
    resegment(p->second.second);
  };
  for (int i = 0; i != -1; i = symbols[size_t(i)].next) resegment(symbols[size_t(i)].piece);
  return output;
}

SentencePieceTokenizer SentencePieceTokenizer::load(const std::string& path) {
  return from_bytes(read_file(path), path);
}

SentencePieceTokenizer SentencePieceTokenizer::from_bytes(std::string_view bytes,
                                                          const std::string& name) {
  auto impl = std::make_shared<Impl>();
  impl->proto = spm::parse_model_proto(bytes, name);
  impl->file = name;
  build(*impl);
  SentencePieceTokenizer t;
  t.impl_ = std::move(impl);
  return t;
}

std::string SentencePieceTokenizer::normalize(std::string_view text) const {
  return impl_->normalizer.normalize(text);
}

std::vector<int64_t> SentencePieceTokenizer::encode(std::string_view text) const {
  const Impl& m = *impl_;
  const std::string normalized = m.normalizer.normalize(text);
  if (normalized.empty()) return {};
  const EncodeResult result = m.proto.model_type == spm::ModelType::kBpe
                                  ? m.encode_bpe(normalized)
                                  : m.encode_unigram(normalized);
  // sentencepiece_processor.cc, PopulateSentencePieceText.
  std::vector<int64_t> ids;
  ids.reserve(result.size());
  bool is_prev_unk = false;
  for (const auto& [w, id] : result) {
    const bool is_unk = m.type(id) == PieceType::kUnknown;
    if (m.type(id) == PieceType::kControl) {
      ids.push_back(id);
    } else if (is_unk && m.proto.byte_fallback) {
      for (char b : w) ids.push_back(m.byte_ids[uint8_t(b)]);
    } else if (!(is_prev_unk && is_unk)) {  // a run of unknown pieces is one <unk>
      ids.push_back(id);
    }
    is_prev_unk = is_unk;
  }
  return ids;
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  const Impl& m = *impl_;
  const int64_t n = vocab_size();
  // spm decodes pieces: each id becomes its piece, then the piece is looked up again.
  std::vector<std::pair<std::string_view, int>> pieces;
  pieces.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= n)
      throw Error("sentencepiece: id " + std::to_string(id) + " out of range 0.." +
                  std::to_string(n - 1) + " (" + m.file + ")");
    const std::string_view w = m.proto.pieces[size_t(id)].piece;
    pieces.emplace_back(w, m.piece_to_id(w));
  }
  const bool strip_bos_ws =
      m.proto.normalizer.add_dummy_prefix || m.proto.normalizer.remove_extra_whitespaces;
  std::string text;
  auto decode_piece = [&](std::string_view piece, int id, bool is_bos_ws, bool* has_bos_ws) {
    *has_bos_ws = false;
    if (m.type(id) == PieceType::kControl) return;
    if (m.type(id) == PieceType::kUnknown) {
      text +=
          m.proto.pieces[size_t(id)].piece == piece ? std::string_view(m.proto.unk_surface) : piece;
      return;
    }
    if (is_bos_ws && strip_bos_ws) {
      if (piece.substr(0, kSpaceSymbol.size()) == kSpaceSymbol) {
        piece.remove_prefix(kSpaceSymbol.size());
        *has_bos_ws = !m.proto.normalizer.remove_extra_whitespaces;
      }
    }
    for (size_t k = 0; k < piece.size();) {
      if (piece.substr(k, kSpaceSymbol.size()) == kSpaceSymbol) {
        text += ' ';
        k += kSpaceSymbol.size();
      } else {
        text += piece[k++];
      }
    }
  };
  auto flush_bytes = [&](size_t begin, size_t end) {
    std::string bytes;
    for (size_t i = begin; i < end; ++i) bytes += char(piece_to_byte(pieces[i].first));
    for (size_t off = 0; off < bytes.size();) {
      size_t len = 0;
      if (decode_utf8(bytes, off, &len) == kInvalidUtf8) {
        text += kReplacementChar;
        off += 1;
      } else {
        text.append(bytes, off, len);
        off += len;
      }
    }
  };
  size_t byte_start = 0;
  bool is_bos_ws = true, bos_ws_seen = false;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const int id = pieces[i].second;
    if (m.type(id) == PieceType::kByte) continue;
    flush_bytes(byte_start, i);
    if (bos_ws_seen || !text.empty()) is_bos_ws = false;
    byte_start = i + 1;
    decode_piece(pieces[i].first, id, is_bos_ws, &bos_ws_seen);
  }
  flush_bytes(byte_start, pieces.size());
  return text;
}

int64_t SentencePieceTokenizer::vocab_size() const {
  return static_cast<int64_t>(impl_->proto.pieces.size());
}

const std::string& SentencePieceTokenizer::piece(int64_t id) const {
  if (id < 0 || id >= vocab_size())
    throw Error("sentencepiece: id " + std::to_string(id) + " out of range 0.." +
                std::to_string(vocab_size() - 1));
  return impl_->proto.pieces[size_t(id)].piece;
}

int64_t SentencePieceTokenizer::piece_to_id(std::string_view piece) const {
  return impl_->piece_to_id(piece);
}

int64_t SentencePieceTokenizer::unk_id() const { return impl_->unk_id; }

int64_t SentencePieceTokenizer::bos_id() const {
  const int id = impl_->proto.bos_id;
  return id >= 0 && id < vocab_size() ? id : -1;
}

int64_t SentencePieceTokenizer::eos_id() const {
  const int id = impl_->proto.eos_id;
  return id >= 0 && id < vocab_size() ? id : -1;
}

std::string SentencePieceTokenizer::model_type() const {
  return impl_->proto.model_type == spm::ModelType::kBpe ? "bpe" : "unigram";
}

bool SentencePieceTokenizer::byte_fallback() const { return impl_->proto.byte_fallback; }

}  // namespace elarin
