// Reading back an `elarin train lm` run (see the header).
#include "lm_checkpoint.hpp"

#include <torch/torch.h>

#include <filesystem>
#include "elarin/cli/app_config.hpp"

#include "core/crc32c.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/checkpoint.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::cli {

std::vector<int64_t> RunTokenizer::encode(const std::string& text) const {
  if (chars) return chars->encode(text);
  std::vector<int64_t> ids;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    const bool ended = end != std::string::npos;
    if (!ended) end = text.size();
    const auto line = pieces->encode(std::string_view(text).substr(begin, end - begin));
    ids.insert(ids.end(), line.begin(), line.end());
    if (ended) ids.push_back(pieces->eos_id());
    begin = end + 1;
  }
  return ids;
}

std::string RunTokenizer::decode(const std::vector<int64_t>& ids) const {
  if (chars) return chars->decode(ids);
  std::string text;
  std::vector<int64_t> line;
  for (size_t i = 0; i <= ids.size(); ++i) {
    if (i == ids.size() || ids[i] == pieces->eos_id()) {
      text += pieces->decode(line);
      if (i < ids.size()) text += '\n';
      line.clear();
    } else {
      line.push_back(ids[i]);
    }
  }
  return text;
}

namespace {

RunTokenizer run_tokenizer(const std::string& path, std::map<std::string, std::string>& meta) {
  RunTokenizer tok;
  if (meta["elarin.tokenizer"] == "sentencepiece") {
    const std::string model = meta["elarin.tokenizer_model"];
    if (!std::filesystem::exists(model))
      throw Error(path + ": its SentencePiece model '" + model +
                  "' is missing (moved or deleted since training?)");
    const std::string bytes = read_file(model);
    const std::string crc = crc32c_hex(bytes);
    if (meta["elarin.tokenizer_crc32c"] != crc)
      throw Error(path + ": its SentencePiece model '" + model +
                  "' has changed since training "
                  "(CRC-32C " +
                  crc + ", recorded " + meta["elarin.tokenizer_crc32c"] + ")");
    tok.pieces = SentencePieceTokenizer::from_bytes(bytes, model);
    return tok;
  }
  auto vocab = meta.find("elarin.vocab");
  if (vocab == meta.end())
    throw FormatError(path + ": no elarin.vocab in its metadata (not a `train lm` checkpoint?)");
  tok.chars = CharTokenizer::from_json(vocab->second);
  return tok;
}

}  // namespace

std::pair<models::ElaraModel, RunTokenizer> load_run_checkpoint(const std::string& path) {
  auto ck = load_checkpoint(path);
  AppConfig app;
  app.config.load_string(ck.config.dump(), path);
  auto tok = run_tokenizer(path, ck.metadata);
  // The saved config holds the configured vocab_size; train lm sized the model by its
  // tokenizer (the text's characters or the SentencePiece pieces).
  auto model_cfg = app.lm.model;
  model_cfg.vocab_size = tok.chars ? tok.chars->vocab_size() : tok.pieces->vocab_size();
  models::ElaraModel model(model_cfg);
  torch::NoGradGuard no_grad;
  auto take = [&](const std::string& name, torch::Tensor& dst) {
    auto it = ck.tensors.find(name);
    if (it == ck.tensors.end() || it->second.sizes() != dst.sizes())
      throw FormatError(path + ": tensor '" + name + "' is missing or mis-shaped for its config");
    dst.copy_(it->second);
  };
  for (auto& p : model->named_parameters(true)) take(p.key(), p.value());
  for (auto& b : model->named_buffers(true)) take(b.key(), b.value());
  model->eval();
  return {model, tok};
}

}  // namespace elarin::cli
