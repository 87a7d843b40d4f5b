// The decoders of tokenizer.json on bytes (see decoder.hpp). Leaves out WordPiece, CTC and
// BPEDecoder.
#include "data/hf_tokenizer/decoder.hpp"

#include <unordered_map>

#include "core/utf8.hpp"
#include "data/hf_tokenizer/js_regex.hpp"
#include "data/hf_tokenizer/json_util.hpp"
#include "data/hf_tokenizer/pre_tokenizer.hpp"

namespace elarin::hf_tokenizer {
namespace {

using nlohmann::json;

// "<0xAB>" -> 0xAB; -1 for anything else.
int byte_token(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = token[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

Decoder byte_level(const std::unordered_set<std::string>& added) {
  // The byte-level alphabet's characters back to bytes.
  std::unordered_map<uint32_t, char> bytes;
  const auto& alphabet = byte_level_alphabet();
  for (int b = 0; b < 256; ++b) {
    size_t len = 0;
    bytes[decode_utf8(alphabet[b], 0, &len)] = static_cast<char>(b);
  }
  return [bytes, added](std::vector<std::string> tokens) {
    std::vector<std::string> out;
    std::string current;
    bool open = false;
    for (const std::string& token : tokens) {
      if (added.count(token)) {
        if (open) out.push_back(std::move(current)), current.clear(), open = false;
        out.push_back(token);
        continue;
      }
      open = true;
      for (size_t i = 0, len = 1; i < token.size(); i += len) {
        const uint32_t cp = decode_utf8(token, i, &len);
        const auto it = bytes.find(cp);
        // A character outside the alphabet cannot come from byte-level BPE; keep it as it is.
        if (it != bytes.end()) {
          current += it->second;
        } else {
          current.append(token, i, len);
        }
      }
    }
    if (open) out.push_back(std::move(current));
    return out;
  };
}

Decoder strip(const json& config, const std::string& where) {
  const std::string content = get_string(config, "content", " ", where);
  const int64_t start = get_int(config, "start", 0, where);
  const int64_t stop = get_int(config, "stop", 0, where);
  return [=](std::vector<std::string> tokens) {
    for (std::string& token : tokens) {
      size_t begin = 0, end = token.size();
      for (int64_t i = 0; i < start && token.compare(begin, content.size(), content) == 0 &&
                          begin + content.size() <= end;
           ++i)
        begin += content.size();
      for (int64_t i = 0; i < stop && end >= begin + content.size() &&
                          token.compare(end - content.size(), content.size(), content) == 0;
           ++i)
        end -= content.size();
      token = token.substr(begin, end - begin);
    }
    return tokens;
  };
}

}  // namespace

Decoder make_decoder(const json& config, const std::string& where,
                     const std::unordered_set<std::string>& added_tokens) {
  if (config.is_null()) return {};
  if (!config.is_object())
    throw FormatError(where + " is " + shown(config) + ", expected an object");
  const std::string type = type_of(config);
  if (type == "ByteLevel") return byte_level(added_tokens);
  if (type == "Replace") {
    const json& pattern = config.contains("pattern") ? config["pattern"] : json();
    const std::string content = get_string(config, "content", "", where);
    if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      const std::string from = pattern["String"].get<std::string>();
      return [from, content](std::vector<std::string> tokens) {
        for (auto& t : tokens) t = replace_all(t, from, content);
        return tokens;
      };
    }
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      auto re = std::make_shared<JsRegex>(pattern["Regex"].get<std::string>(), where + ".pattern");
      return [re, content](std::vector<std::string> tokens) {
        for (auto& t : tokens) t = re->replace_all(t, content);
        return tokens;
      };
    }
    throw FormatError(where + ".pattern is " + shown(pattern) +
                      ", expected {\"String\": ...} or {\"Regex\": ...}");
  }
  if (type == "ByteFallback") {
    // Runs of <0x..> tokens become their bytes (one string per run).
    return [](std::vector<std::string> tokens) {
      std::vector<std::string> out;
      std::string run;
      bool in_run = false;
      for (auto& token : tokens) {
        const int b = byte_token(token);
        if (b >= 0) {
          run += static_cast<char>(b);
          in_run = true;
          continue;
        }
        if (in_run) out.push_back(std::move(run)), run.clear(), in_run = false;
        out.push_back(std::move(token));
      }
      if (in_run) out.push_back(std::move(run));
      return out;
    };
  }
  if (type == "Fuse") {
    return [](std::vector<std::string> tokens) {
      std::string all;
      for (const auto& t : tokens) all += t;
      return std::vector<std::string>{std::move(all)};
    };
  }
  if (type == "Strip") return strip(config, where);
  if (type == "Metaspace") {
    const std::string replacement = get_string(config, "replacement", "\xE2\x96\x81", where);
    const bool add_prefix_space = get_bool(config, "add_prefix_space", false, where);
    return [=](std::vector<std::string> tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all(tokens[i], replacement, " ");
        if (add_prefix_space && i == 0 && tokens[i].rfind(' ', 0) == 0) tokens[i].erase(0, 1);
      }
      return tokens;
    };
  }
  if (type == "Sequence") {
    const json& list = config.contains("decoders") ? config["decoders"] : json();
    if (!list.is_array())
      throw FormatError(where + ".decoders is " + shown(list) + ", expected a list");
    std::vector<Decoder> stages;
    for (size_t i = 0; i < list.size(); ++i) {
      Decoder d =
          make_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]", added_tokens);
      if (d) stages.push_back(std::move(d));
    }
    return [stages](std::vector<std::string> tokens) {
      for (const auto& stage : stages) tokens = stage(std::move(tokens));
      return tokens;
    };
  }
  unsupported(where, config, "ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence");
}

}  // namespace elarin::hf_tokenizer
