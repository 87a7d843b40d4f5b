// TokenStream: emit the decoded suffix of a sliding window of ids once it ends on a whole
// character (the detokenize-incrementally scheme of vLLM and text-generation-inference).
#include "elarin/data/token_stream.hpp"

#include "core/utf8.hpp"

namespace elarin {
namespace {

std::vector<int64_t> slice(const std::vector<int64_t>& v, size_t begin, size_t end) {
  return std::vector<int64_t>(v.begin() + begin, v.begin() + end);
}

}  // namespace

size_t complete_utf8_prefix(const std::string& bytes) {
  // Look back at most 3 bytes for the start of the last character.
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const auto b = static_cast<uint8_t>(bytes[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = b < 0x80             ? 1
                        : (b & 0xE0) == 0xC0 ? 2
                        : (b & 0xF0) == 0xE0 ? 3
                        : (b & 0xF8) == 0xF0 ? 4
                                             : 1;
    return back >= need ? n : n - back;
  }
  return n;  // only continuation bytes: ill-formed anyway, let them through
}

TokenStream::TokenStream(std::shared_ptr<const Tokenizer> tokenizer)
    : tokenizer_(std::move(tokenizer)) {}

std::string TokenStream::push(int64_t id) {
  ids_.push_back(id);
  const std::string now = tokenizer_->decode(slice(ids_, prefix_, ids_.size()));
  const size_t whole = complete_utf8_prefix(now);
  std::string out;
  // The window's text grows at its end; a decoder that rewrote earlier text would show here as
  // a mismatch, and then nothing already shown is repeated.
  if (whole > shown_.size() && now.compare(0, shown_.size(), shown_) == 0) {
    out = to_valid_utf8(now.substr(shown_.size(), whole - shown_.size()));
    shown_ = now.substr(0, whole);
  }
  if (whole == now.size() && ids_.size() - prefix_ > 4) {
    // Everything shown: slide the window to the last few ids, so that decoding stays O(window)
    // per token while the decoder still sees left context.
    prefix_ = ids_.size() - 4;
    shown_ = tokenizer_->decode(slice(ids_, prefix_, ids_.size()));
  }
  return out;
}

std::string TokenStream::finish() {
  const std::string now = tokenizer_->decode(slice(ids_, prefix_, ids_.size()));
  std::string out;
  if (now.size() > shown_.size() && now.compare(0, shown_.size(), shown_) == 0)
    out = to_valid_utf8(now.substr(shown_.size()));
  shown_ = now;
  return out;
}

}  // namespace elarin
