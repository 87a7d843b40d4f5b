// HfTokenizer's pipeline: added tokens, normalizer, pre-tokenizer, BPE, post-processor, and
// the decoder chain, in transformers.js' order (see the header). Leaves out reading the files
// (hf_tokenizer/tokenizer_files.cpp).
#include "elarin/data/hf_tokenizer.hpp"

#include "core/utf8.hpp"
#include "data/hf_tokenizer/impl.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {

HfTokenizer::HfTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HfTokenizer::~HfTokenizer() = default;

std::vector<int64_t> HfTokenizer::encode(const std::string& text) const {
  return encode(text, false);
}

std::vector<int64_t> HfTokenizer::encode(const std::string& raw, bool add_special_tokens) const {
  const Impl& m = *impl_;
  const std::string text = to_valid_utf8(raw);
  std::vector<int64_t> ids;
  const std::vector<hf_tokenizer::Section> sections = m.splitter->split(text);
  for (size_t s = 0; s < sections.size(); ++s) {
    const auto& section = sections[s];
    if (section.token >= 0) {
      ids.push_back(m.added[section.token].id);
      continue;
    }
    if (section.text.empty()) continue;
    std::string normalized = m.normalizer ? m.normalizer(section.text) : section.text;
    if (normalized.empty()) continue;
    std::vector<std::string> words = m.pre_tokenizer
                                         ? m.pre_tokenizer({std::move(normalized)}, s)
                                         : std::vector<std::string>{std::move(normalized)};
    m.model->encode(words, &ids);
  }
  if (!add_special_tokens || m.post.empty()) return ids;
  std::vector<int64_t> out;
  for (const PostItem& item : m.post) {
    const auto& part = item.is_sequence ? ids : item.ids;
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

namespace {

std::vector<std::string> tokens_of(const HfTokenizer::Impl& m, const std::vector<int64_t>& ids,
                                   bool skip_special) {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int64_t id : ids) {
    if (id < 0 || id >= static_cast<int64_t>(m.tokens.size()) || !m.known[id]) {
      throw UsageError("token id " + std::to_string(id) + " is not in the vocabulary of " +
                       m.source + " (ids 0.." + std::to_string(m.tokens.size() - 1) + ")");
    }
    if (skip_special && m.special[id]) continue;
    tokens.push_back(m.tokens[id]);
  }
  return tokens;
}

std::string run_decoder(const HfTokenizer::Impl& m, std::vector<std::string> tokens) {
  std::string out;
  if (!m.decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const auto& piece : m.decoder(std::move(tokens))) out += piece;
  return out;
}

}  // namespace

std::string HfTokenizer::decode(const std::vector<int64_t>& ids) const {
  return run_decoder(*impl_, tokens_of(*impl_, ids, false));
}

std::string HfTokenizer::decode_text(const std::vector<int64_t>& ids,
                                     bool skip_special_tokens) const {
  return to_valid_utf8(run_decoder(*impl_, tokens_of(*impl_, ids, skip_special_tokens)));
}

int64_t HfTokenizer::vocab_size() const { return static_cast<int64_t>(impl_->tokens.size()); }

std::optional<int64_t> HfTokenizer::token_id(const std::string& token) const {
  const auto id = impl_->model->id_of(token);
  if (!id) return std::nullopt;
  return *id;
}

const std::string& HfTokenizer::token(int64_t id) const {
  if (id < 0 || id >= vocab_size() || !impl_->known[id])
    throw UsageError("token id " + std::to_string(id) + " is not in the vocabulary of " +
                     impl_->source);
  return impl_->tokens[id];
}

bool HfTokenizer::is_special(int64_t id) const {
  return id >= 0 && id < vocab_size() && impl_->special[id];
}

bool HfTokenizer::is_eos(int64_t id) const {
  for (const int64_t e : impl_->info.eos_ids)
    if (e == id) return true;
  return false;
}

const HfTokenizerInfo& HfTokenizer::info() const { return impl_->info; }

}  // namespace elarin
