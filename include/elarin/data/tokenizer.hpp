// The interface every text tokenizer of elarin offers the models and the CLI: text to ids and
// ids back to bytes. Implementations: HfTokenizer (tokenizer.json), and in the CLI the
// character and SentencePiece tokenizers of Elara checkpoints. Leaves out special tokens and
// chat templates (HfTokenizer, chat_template.hpp).
//
//   #include "elarin/data/hf_tokenizer.hpp"
//   std::shared_ptr<const elarin::Tokenizer> tok = elarin::load_hf_tokenizer("models/qwen3");
//   std::vector<int64_t> ids = tok->encode("Hello world");  // no special tokens added
//   std::string text = tok->decode(ids);                    // "Hello world"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elarin {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Ids as Hugging Face's `tokenizer.encode(text, add_special_tokens=False)` gives them. Text is
  // Unicode: ill-formed UTF-8 is first replaced by U+FFFD, as reading it as text would.
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // The bytes the ids stand for. No U+FFFD replacement: decoding a prefix may end in the middle
  // of a UTF-8 character (TokenStream holds such a tail back). An id outside the vocabulary is
  // a UsageError.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // One past the largest id (GPT-2: 50257, like `len(tokenizer)`).
  virtual int64_t vocab_size() const = 0;
};

}  // namespace elarin
