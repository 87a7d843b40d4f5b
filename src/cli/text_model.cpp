// Loading a --model path for text work (see text_model.hpp).
#include "text_model.hpp"

#include <filesystem>

#include "core/utf8.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/models/hf/llama.hpp"
#include "lm_checkpoint.hpp"

namespace elarin::cli {
namespace {

// A `train lm` run's tokenizer behind the Tokenizer interface. A character model knows only
// its corpus's characters: others (ChatML's '|' for Shakespeare) are left out, with a warning.
class RunTextTokenizer final : public Tokenizer {
 public:
  explicit RunTextTokenizer(RunTokenizer tok) : tok_(std::move(tok)) {}
  std::vector<int64_t> encode(const std::string& raw) const override {
    const std::string text = to_valid_utf8(raw);
    if (!tok_.chars) return tok_.encode(text);
    std::string known;
    std::string dropped;
    for (size_t i = 0, len = 1; i < text.size(); i += len) {
      const uint32_t cp = decode_utf8(text, i, &len);
      if (tok_.chars->contains(cp)) {
        known.append(text, i, len);
      } else if (dropped.find(text.substr(i, len)) == std::string::npos) {
        dropped.append(text, i, len);
      }
    }
    if (!dropped.empty())
      log_warn("this character model has no '{}' in its vocabulary: left out of the input",
               dropped);
    return tok_.encode(known);
  }
  std::string decode(const std::vector<int64_t>& ids) const override { return tok_.decode(ids); }
  int64_t vocab_size() const override {
    return tok_.chars ? tok_.chars->vocab_size() : tok_.pieces->vocab_size();
  }

 private:
  RunTokenizer tok_;
};

}  // namespace

void add_sampling_options(CLI::App& app, models::GenerateOptions* gen) {
  app.add_option("--max_new_tokens", gen->max_new_tokens, "tokens to generate at most")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--temperature", gen->temperature, "softmax temperature; 0 = greedy")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top_k", gen->top_k, "sample among the k most likely tokens; 0 = all")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", gen->seed, "sampling seed");
}

TextModel load_text_model(const std::string& path, const std::string& template_file,
                          bool with_weights) {
  TextModel m;
  m.path = path;
  if (std::filesystem::is_directory(path)) {
    m.hf = load_hf_tokenizer(path);
    m.tokenizer = m.hf;
    m.stop_ids = m.hf->info().eos_ids;
    if (!template_file.empty()) {
      m.chat = ChatTemplate::from_source(read_file(template_file), template_file, m.hf->info());
    } else if (m.hf->info().chat_template) {
      m.chat = ChatTemplate::of(m.hf->info());
    }
    if (with_weights) m.lm = load_hf_elara(path);
  } else if (std::filesystem::is_regular_file(path)) {
    auto [lm, tok] = load_run_checkpoint(path);
    if (with_weights) m.lm = lm;
    m.tokenizer = std::make_shared<RunTextTokenizer>(std::move(tok));
    m.chat = template_file.empty()
                 ? ChatTemplate::chatml()
                 : ChatTemplate::from_source(read_file(template_file), template_file, {});
  } else {
    throw UsageError("--model " + path +
                     ": no such file or directory (a Hugging Face model directory or the "
                     "model.safetensors of an `elarin train lm` run)");
  }
  return m;
}

}  // namespace elarin::cli
