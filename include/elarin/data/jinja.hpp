// Jinja chat templates (Hugging Face tokenizer_config.json `chat_template`), rendered
// byte-identically to npm @huggingface/jinja 0.5.13, JavaScript quirks included. Leaves out
// Jinja features that engine lacks ({% raw %}, {% include %}, most of Python Jinja's filters).
//
//   elarin::JinjaTemplate chat = elarin::JinjaTemplate::parse(
//       "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}", "chat_template");
//   nlohmann::ordered_json context = {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}};
//   std::string prompt = chat.render(context);  // "<|user|>Hi"
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace elarin {

// A parsed template: cheap to copy, immutable, safe to render from many threads at once.
class JinjaTemplate {
 public:
  // Parses `source`; `origin` names it in errors ("tokenizer_config.json chat_template").
  // Throws FormatError "<origin>:<line>: <what>" on a syntax error or an unsupported statement.
  static JinjaTemplate parse(const std::string& source, const std::string& origin);

  // Renders with the variables of `context` (a JSON object; ordered_json so that key order
  // survives into tojson and items()). Throws UsageError with the template's message when it
  // calls raise_exception (it rejects the conversation), FormatError "<origin>:<line>: <what>"
  // on a runtime error (unsupported filter, wrong type, runaway recursion).
  std::string render(const nlohmann::ordered_json& context) const;

  const std::string& origin() const;

 private:
  struct Impl;
  explicit JinjaTemplate(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace elarin
