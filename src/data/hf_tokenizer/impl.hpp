// HfTokenizer's parts, shared by the loader (tokenizer_files.cpp) and the pipeline
// (hf_tokenizer.cpp). Leaves out the components' own logic (their files).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/hf_tokenizer/added_tokens.hpp"
#include "data/hf_tokenizer/bpe_model.hpp"
#include "data/hf_tokenizer/decoder.hpp"
#include "data/hf_tokenizer/normalizer.hpp"
#include "data/hf_tokenizer/pre_tokenizer.hpp"
#include "elarin/data/hf_tokenizer.hpp"

namespace elarin {

// One item of the post-processor's single-sequence template: special ids, or the text's ids.
struct PostItem {
  bool is_sequence = false;
  std::vector<int64_t> ids;
};

struct HfTokenizer::Impl {
  HfTokenizerInfo info;
  std::string source;  // tokenizer.json (or vocab.json), for messages
  hf_tokenizer::Normalizer normalizer;
  hf_tokenizer::PreTokenizer pre_tokenizer;
  std::unique_ptr<hf_tokenizer::BpeModel> model;
  hf_tokenizer::Decoder decoder;  // empty: join with spaces
  std::vector<hf_tokenizer::AddedToken> added;
  std::unique_ptr<hf_tokenizer::AddedTokenSplitter> splitter;
  std::vector<PostItem> post;       // empty: add_special_tokens adds nothing
  std::vector<std::string> tokens;  // id -> token string ("" for gaps)
  std::vector<bool> known;          // false for gaps in the id range
  std::vector<bool> special;        // id -> special (skipped by skip_special_tokens)
};

}  // namespace elarin
