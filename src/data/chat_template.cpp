// ChatTemplate: the context transformers gives a chat template, and ChatML (see the header).
#include "elarin/data/chat_template.hpp"

#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

using nlohmann::ordered_json;

ordered_json special_tokens(const HfTokenizerInfo& info) {
  ordered_json tokens = ordered_json::object();
  if (info.bos_token) tokens["bos_token"] = *info.bos_token;
  if (info.eos_token) tokens["eos_token"] = *info.eos_token;
  if (info.unk_token) tokens["unk_token"] = *info.unk_token;
  if (info.pad_token) tokens["pad_token"] = *info.pad_token;
  return tokens;
}

}  // namespace

const char* const kChatmlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

ChatTemplate::ChatTemplate(JinjaTemplate jinja, std::string origin, ordered_json tokens)
    : jinja_(std::move(jinja)), origin_(std::move(origin)), tokens_(std::move(tokens)) {}

ChatTemplate ChatTemplate::of(const HfTokenizerInfo& info) {
  if (!info.chat_template)
    throw UsageError("model " + info.dir +
                     " has no chat template (tokenizer_config.json has no chat_template and there "
                     "is no chat_template.jinja): pass one with --chat-template FILE");
  return from_source(*info.chat_template, info.chat_template_origin, info);
}

ChatTemplate ChatTemplate::from_source(const std::string& source, const std::string& origin,
                                       const HfTokenizerInfo& info) {
  return ChatTemplate(JinjaTemplate::parse(source, origin), origin, special_tokens(info));
}

ChatTemplate ChatTemplate::chatml() {
  return ChatTemplate(JinjaTemplate::parse(kChatmlTemplate, "ChatML"), "ChatML",
                      ordered_json::object());
}

std::string ChatTemplate::render(const ordered_json& messages, bool add_generation_prompt,
                                 const ordered_json& extra) const {
  if (!messages.is_array())
    throw UsageError("chat: messages must be a list of {\"role\", \"content\"}, got " +
                     std::string(messages.type_name()));
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw UsageError("chat: messages[" + std::to_string(i) +
                       "] must be an object with a string \"role\", got " + m.dump());
  }
  ordered_json context = ordered_json::object();
  context["messages"] = messages;
  context["add_generation_prompt"] = add_generation_prompt;
  for (const auto& [key, value] : tokens_.items()) context[key] = value;
  if (!extra.is_null()) {
    if (!extra.is_object()) throw UsageError("chat: template variables must be a JSON object");
    for (const auto& [key, value] : extra.items()) {
      if (key == "messages" || key == "add_generation_prompt") continue;
      context[key] = value;
    }
  }
  return jinja_.render(context);
}

}  // namespace elarin
