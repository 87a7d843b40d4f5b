// tokenizer.json's "pre_tokenizer": how normalized text is cut into words before BPE, with
// transformers.js' behaviour (ByteLevel, Split, Metaspace, Digits, ...). Leaves out offsets and
// BertPreTokenizer (WordPiece tokenizers).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace elarin::hf_tokenizer {

// Cuts each piece of `pieces` further (a Sequence feeds one stage's pieces to the next).
// `section_index` is the index of the text's section between added tokens (Metaspace's
// prepend_scheme "first" only prefixes section 0).
using PreTokenizer =
    std::function<std::vector<std::string>(std::vector<std::string> pieces, size_t section_index)>;

// From the "pre_tokenizer" object (null: none, returned as an empty function). Supported:
// ByteLevel, Split, Sequence, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation.
PreTokenizer make_pre_tokenizer(const nlohmann::json& config, const std::string& where);

// GPT-2's bytes_to_unicode: the UTF-8 of the character that stands for each byte in byte-level
// vocabularies (printable Latin-1 stands for itself; space 0x20 -> U+0120 'Ġ').
const std::array<std::string, 256>& byte_level_alphabet();

// GPT-2's pre-tokenizer regex (ByteLevel with use_regex).
extern const char* const kGpt2Pattern;

}  // namespace elarin::hf_tokenizer
