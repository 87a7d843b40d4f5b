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

#include "elarin/models/elara/elara_model.hpp"
#include "elarin/models/elara/generate.hpp"
#include "serve/text_model.hpp"

namespace elarin::cli {

using serve::TextModel;

// The sampling flags `sample` and `chat` share: --max_new_tokens, --temperature, --top_k, --seed.
void add_sampling_options(CLI::App& app, models::GenerateOptions* gen);

// `template_file` (may be empty) replaces the model's chat template.
TextModel load_text_model(const std::string& path, const std::string& template_file,
                          bool with_weights);

}  // namespace elarin::cli
