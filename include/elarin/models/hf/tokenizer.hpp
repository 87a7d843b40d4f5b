// Text <-> token ids for Hugging Face checkpoints: GPT-2's byte-level BPE, read from a model
// directory. Leaves out other tokenizer kinds (WordPiece, Unigram, SentencePiece) and training.
//
//   auto tok = elarin::load_hf_tokenizer("data/gpt2");        // vocab.json + merges.txt
//   std::vector<int64_t> ids = tok->encode("Hello world");    // {15496, 995}
//   std::string text = tok->decode(ids);                      // "Hello world"
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace elarin {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Ids as Hugging Face's `tokenizer.encode(text, add_special_tokens=False)` gives them. Any
  // bytes are accepted; invalid UTF-8 is tokenised byte by byte, so decode(encode(x)) == x.
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // The bytes the ids stand for, concatenated. No U+FFFD replacement: decoding a prefix may end
  // in the middle of a UTF-8 sequence, and decoding consecutive chunks concatenates exactly.
  // An id outside the vocabulary is a UsageError.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // One past the largest id (GPT-2: 50257, like `len(tokenizer)`).
  virtual int64_t vocab_size() const = 0;
};

// Loads the tokenizer files of a Hugging Face model dir: tokenizer.json (model.type "BPE" with a
// ByteLevel pre-tokenizer; preferred, since it also says what is unsupported) or vocab.json +
// merges.txt (GPT-2 style; `<|endoftext|>` and added_tokens.json entries match verbatim).
// None present: UsageError "model DIR has no tokenizer files (vocab.json + merges.txt or
// tokenizer.json): pass token ids with --ids". Broken or unsupported files: FormatError naming
// the file (and line or entry).
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::string& dir);

}  // namespace elarin
