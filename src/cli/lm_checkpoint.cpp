// Reading back an `elarin train lm` run (see the header).
#include "lm_checkpoint.hpp"

#include <torch/torch.h>

#include "elarin/cli/app_config.hpp"
#include "elarin/core/checkpoint.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::cli {

std::pair<models::ElaraModel, CharTokenizer> load_run_checkpoint(const std::string& path) {
  auto ck = load_checkpoint(path);
  AppConfig app;
  app.config.load_string(ck.config.dump(), path);
  const auto kind = ck.metadata.find("elarin.tokenizer");
  if (kind != ck.metadata.end() && kind->second == "sentencepiece")
    throw Error(path + ": trained on SentencePiece ids (" +
                ck.metadata["elarin.tokenizer_model"] +
                "); reading such runs back is not supported yet, only character-level ones");
  auto vocab = ck.metadata.find("elarin.vocab");
  if (vocab == ck.metadata.end())
    throw FormatError(path + ": no elarin.vocab in its metadata (not a `train lm` checkpoint?)");
  auto tok = CharTokenizer::from_json(vocab->second);
  models::ElaraModel model(app.lm.model);
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
