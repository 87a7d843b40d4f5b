// What `tokenize`, `sample --prompt` and `chat` need of a --model path: its tokenizer, chat
// template and stop ids, and (when asked) its weights. A path is a Hugging Face directory
// (tokenizer.json + config.json + model.safetensors) or the model.safetensors of an
// `elarin train lm` run (its character or SentencePiece tokenizer, ChatML). Leaves out
// decoding (models/elara/generate.hpp) and the terminal (chat_command.cpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "elarin/data/chat_template.hpp"
#include "elarin/data/hf_tokenizer.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "elarin/models/elara/generate.hpp"

namespace elarin::cli {

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

// The sampling flags `sample` and `chat` share: --max_new_tokens, --temperature, --top_k, --seed.
void add_sampling_options(CLI::App& app, models::GenerateOptions* gen);

// `template_file` (may be empty) replaces the model's chat template.
TextModel load_text_model(const std::string& path, const std::string& template_file,
                          bool with_weights);

}  // namespace elarin::cli
