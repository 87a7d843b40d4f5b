// Reading back an `elarin train lm` run: its model.safetensors holds the resolved config (the
// lm.model keys rebuild the architecture), the weights and the character vocabulary. Shared
// by `sample` and `bench lm`.
#pragma once

#include <string>
#include <utility>

#include "elarin/data/char_tokenizer.hpp"
#include "elarin/models/elara/elara_model.hpp"

namespace elarin::cli {

// The model (eval mode) and its tokenizer; FormatError naming the file when it is not a
// `train lm` checkpoint or its tensors do not fit its config.
std::pair<models::ElaraModel, CharTokenizer> load_run_checkpoint(const std::string& path);

}  // namespace elarin::cli
