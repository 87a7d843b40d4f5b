// A model's chat template: the Jinja template of its tokenizer_config.json (or
// chat_template.jinja) rendered over a conversation, with the variables transformers'
// apply_chat_template passes (messages, add_generation_prompt, the special tokens). Models
// without one (Elara checkpoints) get ChatML. Leaves out tokenisation (the rendered text is
// encoded without added special tokens, as transformers does).
//
//   auto tok = elarin::load_hf_tokenizer("models/Qwen3-0.6B");
//   auto chat = elarin::ChatTemplate::of(tok->info());
//   nlohmann::ordered_json messages = nlohmann::ordered_json::array(
//       {{{"role", "user"}, {"content", "Hi"}}});
//   std::string prompt = chat.render(messages, /*add_generation_prompt=*/true);
//   std::vector<int64_t> ids = tok->encode(prompt);
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "elarin/data/hf_tokenizer.hpp"
#include "elarin/data/jinja.hpp"

namespace elarin {

class ChatTemplate {
 public:
  // The template of a Hugging Face tokenizer directory; a directory without one is a
  // UsageError naming it (pass --chat-template FILE).
  static ChatTemplate of(const HfTokenizerInfo& info);
  // `source` (a template file's text) with the special tokens of `info`.
  static ChatTemplate from_source(const std::string& source, const std::string& origin,
                                  const HfTokenizerInfo& info);
  // ChatML (<|im_start|>role\n...<|im_end|>\n), for models that ship no template.
  static ChatTemplate chatml();

  // `messages` is a list of {"role", "content", ...}; `extra` adds template variables (tools,
  // enable_thinking, ...). UsageError for a malformed conversation or one the template rejects.
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  const std::string& origin() const { return origin_; }

 private:
  ChatTemplate(JinjaTemplate jinja, std::string origin, nlohmann::ordered_json tokens);
  JinjaTemplate jinja_;
  std::string origin_;
  nlohmann::ordered_json tokens_;  // bos_token, eos_token, ... as transformers passes them
};

// The ChatML template's text.
extern const char* const kChatmlTemplate;

}  // namespace elarin
