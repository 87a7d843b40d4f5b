// Incremental detokenisation for streaming: ids go in one at a time, text comes out as soon as
// it is whole. A UTF-8 character split over several tokens (byte-level BPE, byte fallback) is
// emitted once, complete; decoders that look at their neighbours (Llama 2's leading-space
// strip) give the same text as decoding everything at once. Works with any Tokenizer. Leaves
// out stop strings (the caller's) and special-token filtering (pass only the ids to show).
//
//   #include "elarin/data/hf_tokenizer.hpp"
//   #include <iostream>
//   auto tok = elarin::load_hf_tokenizer("models/Qwen3-0.6B");
//   elarin::TokenStream stream(tok);
//   for (int64_t id : tok->encode("日本語")) std::cout << stream.push(id) << std::flush;
//   std::cout << stream.finish();  // what was held back, ill-formed bytes as U+FFFD
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "elarin/data/tokenizer.hpp"

namespace elarin {

class TokenStream {
 public:
  explicit TokenStream(std::shared_ptr<const Tokenizer> tokenizer);
  // The new text that `id` completes ("" while a character is still incomplete).
  std::string push(int64_t id);
  // Whatever is still held back (an incomplete character becomes U+FFFD); resets nothing.
  std::string finish();
  // All ids pushed so far.
  const std::vector<int64_t>& ids() const { return ids_; }

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::vector<int64_t> ids_;
  // Decoding covers ids_[prefix_..]: a few tokens back, so that decoders that look at their
  // left neighbour see it; shown_ is the part of that window's text already returned.
  size_t prefix_ = 0;
  std::string shown_;
};

// The length of the longest prefix of `bytes` that does not end inside a UTF-8 character.
size_t complete_utf8_prefix(const std::string& bytes);

}  // namespace elarin
