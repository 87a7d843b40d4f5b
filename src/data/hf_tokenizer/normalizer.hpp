// tokenizer.json's "normalizer": the text rewrite before pre-tokenisation (NFC, Replace,
// Prepend, ...). Leaves out BertNormalizer and Precompiled (WordPiece / Unigram tokenizers).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>

namespace elarin::hf_tokenizer {

using Normalizer = std::function<std::string(std::string)>;

// From the "normalizer" object (null: the identity, returned as an empty function).
// Supported: NFC, NFD, NFKC, NFKD, Replace, Prepend, Lowercase, Strip, Sequence.
Normalizer make_normalizer(const nlohmann::json& config, const std::string& where);

// Unicode normalization form "NFC", "NFD", "NFKC" or "NFKD" of valid UTF-8 (ICU).
std::string unicode_normalize(const std::string& text, const std::string& form);

}  // namespace elarin::hf_tokenizer
