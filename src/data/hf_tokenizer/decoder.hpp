// tokenizer.json's "decoder": token strings back to text, with transformers.js' behaviour
// (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence). It works on bytes: a
// byte token (<0x..>, or a byte-level character) yields its raw byte, so a prefix of a
// sequence may end inside a UTF-8 character; the caller replaces what stays ill-formed.
// Leaves out WordPiece, CTC and BPEDecoder (other tokenizer families).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

namespace elarin::hf_tokenizer {

// One stage of the chain: token strings in, token strings out (Fuse returns one).
using Decoder = std::function<std::vector<std::string>(std::vector<std::string> tokens)>;

// From the "decoder" object (null: none, an empty function; the caller then joins the tokens
// with spaces, as transformers.js does). `added_tokens` holds the contents of the added tokens,
// which the ByteLevel decoder passes through verbatim.
Decoder make_decoder(const nlohmann::json& config, const std::string& where,
                     const std::unordered_set<std::string>& added_tokens);

}  // namespace elarin::hf_tokenizer
