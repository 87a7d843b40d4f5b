// Reading back an `elarin train lm` run: its model.safetensors holds the resolved config (the
// lm.model keys rebuild the architecture), the weights and the tokenizer (the character
// vocabulary, or the path and CRC-32C of the SentencePiece model). Shared by `sample` and
// `bench lm`.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "elarin/data/char_tokenizer.hpp"
#include "elarin/data/sentencepiece.hpp"
#include "elarin/models/elara/elara_model.hpp"

namespace elarin::cli {

// The tokenizer a run was trained with. SentencePiece text goes line by line as train lm
// fed it: each line's ids, then </s> for each '\n' (a last line without one gets none, so a
// prompt can end mid-line); decoding turns </s> back into '\n'.
struct RunTokenizer {
  std::optional<CharTokenizer> chars;
  std::optional<SentencePieceTokenizer> pieces;
  std::vector<int64_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int64_t>& ids) const;
};

// The model (eval mode) and its tokenizer; FormatError naming the file when it is not a
// `train lm` checkpoint or its tensors do not fit its config; Error when its SentencePiece
// model is missing or changed since training.
std::pair<models::ElaraModel, RunTokenizer> load_run_checkpoint(const std::string& path);

}  // namespace elarin::cli
