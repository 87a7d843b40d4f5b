// `elarin tokenize`: a model's token ids for a text, a file or a conversation (rendered with the
// model's chat template), or the rendered conversation itself. Reads only the tokenizer files of
// a Hugging Face directory, never the weights. With --json the last line is {"ids": [...]} or,
// with --render, {"text": "...", "ids": [...]}.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "commands.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "text_model.hpp"

namespace elarin::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string file;
  std::string chat;
  std::string chat_template;
  bool add_generation_prompt = false;
  bool add_special_tokens = false;
  bool render = false;
  bool json = false;
};

// --chat's file: a list of messages, or {"messages": [...], other template variables}.
void read_conversation(const std::string& path, nlohmann::ordered_json* messages,
                       nlohmann::ordered_json* extra) {
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError("--chat " + path + ": not valid JSON: " + e.what());
  }
  if (doc.is_array()) {
    *messages = doc;
    *extra = nlohmann::ordered_json::object();
    return;
  }
  if (doc.is_object()) {
    *messages = doc.contains("messages") ? doc["messages"] : nlohmann::ordered_json::array();
    doc.erase("messages");
    *extra = doc;
    return;
  }
  throw UsageError("--chat " + path +
                   ": expected a list of {\"role\", \"content\"} messages or an object with "
                   "\"messages\" and other template variables");
}

}  // namespace

CommandRun setup_tokenize(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<TokenizeOptions>();
  app.add_option("--model", o->model,
                 "Hugging Face model directory (its tokenizer.json, tokenizer_config.json, ...) or "
                 "the model.safetensors of an `elarin train lm` run")
      ->required();
  auto* text = app.add_option("--text", o->text, "the text to tokenize");
  auto* file =
      app.add_option("--file", o->file, "a UTF-8 file to tokenize")->check(CLI::ExistingFile);
  auto* chat =
      app.add_option("--chat", o->chat,
                     "a conversation (JSON: [{\"role\": \"user\", \"content\": \"Hi\"}] or "
                     "{\"messages\": [...], \"tools\": ...}) to render with the chat template")
          ->check(CLI::ExistingFile);
  for (auto* a : {text, file, chat})
    for (auto* b : {text, file, chat})
      if (a != b) a->excludes(b);
  app.add_option("--chat-template", o->chat_template,
                 "a Jinja chat template file instead of the model's")
      ->check(CLI::ExistingFile);
  app.add_flag("--add-generation-prompt", o->add_generation_prompt,
               "with --chat: end with the assistant's turn opening, as for generation");
  app.add_flag("--add-special-tokens", o->add_special_tokens,
               "with --text/--file: add the tokenizer's special tokens (Llama 2's and Gemma's BOS) "
               "as for a plain prompt");
  app.add_flag("--render", o->render, "print the rendered text instead of ids");
  app.add_flag("--json", o->json,
               "end stdout with {\"ids\": [...]} (with --render: {\"text\": ..., \"ids\": [...]})");
  return [o]() {
    const int inputs = !o->text.empty() + !o->file.empty() + !o->chat.empty();
    if (inputs != 1) throw UsageError("tokenize: give one input: --text, --file or --chat");
    if (o->add_generation_prompt && o->chat.empty())
      throw UsageError("tokenize: --add-generation-prompt goes with --chat");
    const TextModel m = load_text_model(o->model, o->chat_template, /*with_weights=*/false);
    std::string text;
    if (!o->chat.empty()) {
      nlohmann::ordered_json messages, extra;
      read_conversation(o->chat, &messages, &extra);
      text = m.chat_template().render(messages, o->add_generation_prompt, extra);
    } else {
      text = o->file.empty() ? o->text : read_file(o->file);
    }
    if (o->render) {
      if (o->json) {
        // The ids too: a caller checking a template needs both, and elarin starts slowly.
        const nlohmann::json j = {{"text", text}, {"ids", m.tokenizer->encode(text)}};
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      } else {
        std::cout << text;
      }
      return 0;
    }
    // Plain text gets no special tokens (add_special_tokens=False); a rendered conversation
    // already holds them.
    if (o->add_special_tokens && !o->chat.empty())
      throw UsageError(
          "tokenize: --add-special-tokens goes with --text or --file (a chat template "
          "writes its own special tokens)");
    const std::vector<int64_t> ids =
        o->add_special_tokens ? m.encode_prompt(text) : m.tokenizer->encode(text);
    if (o->json) {
      std::cout << nlohmann::json{{"ids", ids}}.dump() << "\n";
    } else {
      for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
      std::cout << "\n";
    }
    return 0;
  };
}

}  // namespace elarin::cli
