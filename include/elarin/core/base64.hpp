// Base64 (RFC 4648, standard alphabet, padded): OpenAI's base64 embeddings and the tensors a
// feedback log stores.
//
//   std::string text = elarin::base64_encode("hi", 2);           // "aGk="
//   std::string bytes = elarin::base64_decode(text);             // "hi"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace elarin {

std::string base64_encode(const void* data, size_t n);
// FormatError naming the offset of the first character that is not base64 or bad padding.
std::string base64_decode(std::string_view text);

}  // namespace elarin
