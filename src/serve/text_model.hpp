// A model and its text tools as the CLI's --model loads it (src/cli/text_model.hpp): its
// tokenizer, chat template and stop ids, and its weights when asked. What `serve`, `chat`,
// `sample` and `tokenize` share. Loading lives in the CLI (it reads `train lm` runs through the
// CLI's config); this layer only uses a loaded model. Leaves out decoding.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "elarin/data/chat_template.hpp"
#include "elarin/data/hf_tokenizer.hpp"
#include "elarin/models/elara/elara_model.hpp"

namespace elarin::serve {

struct TextModel {
  std::string path;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const HfTokenizer> hf;  // null for `train lm` runs
  std::optional<ChatTemplate> chat;       // null: a Hugging Face model without a template
  std::vector<int64_t> stop_ids;          // generation ends at any of these
  models::ElaraModel lm{nullptr};         // null unless loaded with weights

  // A prompt's ids as the model expects plain text: with the tokenizer's special tokens
  // (Llama 2's and Gemma's BOS) for Hugging Face models.
  std::vector<int64_t> encode_prompt(const std::string& text) const;
  // A rendered chat template's ids: no special tokens added (the template wrote them).
  std::vector<int64_t> encode_chat(const std::string& rendered) const;
  // Generated ids as text for a person: special tokens dropped.
  std::string show(const std::vector<int64_t>& ids) const;
  bool is_special(int64_t id) const;
  const ChatTemplate& chat_template() const;  // UsageError naming the model when it has none
};

}  // namespace elarin::serve
