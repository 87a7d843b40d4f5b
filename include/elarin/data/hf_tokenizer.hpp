// Hugging Face tokenizers from a model directory: tokenizer.json (BPE, byte-level as in GPT-2,
// Llama 3 and Qwen, or SentencePiece-style with metaspace and byte fallback as in Llama 2 and
// Gemma), its added and special tokens, tokenizer_config.json (bos/eos, add_bos_token, the chat
// template), special_tokens_map.json and generation_config.json (eos ids); or GPT-2's
// vocab.json + merges.txt. Ids match transformers.js (npm @lenml/tokenizers) exactly. Leaves
// out WordPiece and Unigram models, offsets, truncation and padding.
//
//   auto tok = elarin::load_hf_tokenizer("models/Qwen3-0.6B");
//   std::vector<int64_t> ids = tok->encode("Hello world");         // {9707, 1879}
//   auto with_bos = tok->encode("Hello", /*add_special_tokens=*/true);
//   std::string text = tok->decode_text(ids, /*skip_special_tokens=*/true);
//   bool stop = tok->is_eos(ids.back());
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "elarin/data/tokenizer.hpp"

namespace elarin {

// What tokenizer_config.json, special_tokens_map.json and generation_config.json say.
struct HfTokenizerInfo {
  std::string dir;
  std::optional<std::string> bos_token, eos_token, pad_token, unk_token;
  std::optional<int64_t> bos_id;
  std::vector<int64_t> eos_ids;  // generation stops at any (eos token + generation_config)
  std::optional<std::string> chat_template;  // chat_template.jinja, else tokenizer_config's
  std::string chat_template_origin;          // the file it came from, for messages
  std::string tokenizer_class;               // "Qwen2Tokenizer", "LlamaTokenizer", ...
};

class HfTokenizer final : public Tokenizer {
 public:
  ~HfTokenizer() override;
  // add_special_tokens = false: the ids of the text alone.
  std::vector<int64_t> encode(const std::string& text) const override;
  // With add_special_tokens, the post-processor's tokens too (Llama 2 and Gemma: BOS first).
  std::vector<int64_t> encode(const std::string& text, bool add_special_tokens) const;
  // Raw bytes, special tokens included (see Tokenizer::decode).
  std::string decode(const std::vector<int64_t>& ids) const override;
  // Text as transformers.js' decode(ids, {skip_special_tokens, clean_up_tokenization_spaces:
  // false}) gives it: ill-formed UTF-8 replaced by U+FFFD.
  std::string decode_text(const std::vector<int64_t>& ids, bool skip_special_tokens) const;
  int64_t vocab_size() const override;

  std::optional<int64_t> token_id(const std::string& token) const;
  // The token string of `id` (UsageError when out of range).
  const std::string& token(int64_t id) const;
  bool is_special(int64_t id) const;
  bool is_eos(int64_t id) const;
  const HfTokenizerInfo& info() const;

  struct Impl;
  explicit HfTokenizer(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// Loads the tokenizer files of a Hugging Face model dir: tokenizer.json (preferred) or
// vocab.json + merges.txt. No tokenizer files: UsageError "model DIR has no tokenizer files
// (tokenizer.json, or vocab.json + merges.txt)". Broken or unsupported files: FormatError naming
// the file and the key (and what is supported).
std::shared_ptr<const HfTokenizer> load_hf_tokenizer(const std::string& dir);

// True when `dir` holds tokenizer files load_hf_tokenizer reads.
bool has_hf_tokenizer(const std::string& dir);

}  // namespace elarin
