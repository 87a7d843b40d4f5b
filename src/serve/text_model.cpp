// The shared text tools of a loaded model (see text_model.hpp).
#include "text_model.hpp"

#include "core/utf8.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::serve {

std::vector<int64_t> TextModel::encode_prompt(const std::string& text) const {
  return hf ? hf->encode(text, true) : tokenizer->encode(text);
}

std::vector<int64_t> TextModel::encode_chat(const std::string& rendered) const {
  return tokenizer->encode(rendered);
}

bool TextModel::is_special(int64_t id) const { return hf && hf->is_special(id); }

std::string TextModel::show(const std::vector<int64_t>& ids) const {
  if (hf) return hf->decode_text(ids, true);
  return to_valid_utf8(tokenizer->decode(ids));
}

const ChatTemplate& TextModel::chat_template() const {
  if (!chat)
    throw UsageError("model " + path +
                     " has no chat template (no chat_template in tokenizer_config.json, no "
                     "chat_template.jinja): pass one with --chat-template FILE");
  return *chat;
}

}  // namespace elarin::serve
