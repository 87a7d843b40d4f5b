// The normalizers of tokenizer.json with transformers.js' behaviour (see normalizer.hpp).
// Leaves out BertNormalizer and Precompiled.
#include "data/hf_tokenizer/normalizer.hpp"

#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include "data/hf_tokenizer/js_regex.hpp"
#include "data/hf_tokenizer/json_util.hpp"

namespace elarin::hf_tokenizer {
namespace {

using nlohmann::json;

// Replace's pattern: {"String": s} (literal) or {"Regex": r}.
std::function<std::string(const std::string&)> make_replace(const json& config,
                                                            const std::string& where) {
  const std::string content = get_string(config, "content", "", where);
  const json& pattern = config.contains("pattern") ? config["pattern"] : json();
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
    const std::string from = pattern["String"].get<std::string>();
    return [from, content](const std::string& s) { return replace_all(s, from, content); };
  }
  if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
    const JsRegex re(pattern["Regex"].get<std::string>(), where + ".pattern.Regex");
    return [re, content](const std::string& s) { return re.replace_all(s, content); };
  }
  throw FormatError(where + ".pattern is " + shown(pattern) +
                    ", expected {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace

std::string unicode_normalize(const std::string& text, const std::string& form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = form == "NFC"    ? icu::Normalizer2::getNFCInstance(status)
                              : form == "NFD"  ? icu::Normalizer2::getNFDInstance(status)
                              : form == "NFKC" ? icu::Normalizer2::getNFKCInstance(status)
                                               : icu::Normalizer2::getNFKDInstance(status);
  if (U_FAILURE(status)) throw Error("ICU has no " + form + " normalizer: " + u_errorName(status));
  if (n->isNormalizedUTF8(text, status) && U_SUCCESS(status)) return text;
  status = U_ZERO_ERROR;
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
  n->normalizeUTF8(0, text, sink, nullptr, status);
  if (U_FAILURE(status)) throw Error(form + " normalization failed: " + u_errorName(status));
  return out;
}

Normalizer make_normalizer(const json& config, const std::string& where) {
  if (config.is_null()) return {};
  if (!config.is_object())
    throw FormatError(where + " is " + shown(config) + ", expected an object");
  const std::string type = type_of(config);
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    return [type](std::string s) { return unicode_normalize(s, type); };
  }
  if (type == "Replace") {
    auto replace = make_replace(config, where);
    return [replace](std::string s) { return replace(s); };
  }
  if (type == "Prepend") {
    const std::string prepend = get_string(config, "prepend", "", where);
    return [prepend](std::string s) { return prepend + s; };
  }
  if (type == "Lowercase") {
    return [](std::string s) {
      std::string out;
      icu::UnicodeString::fromUTF8(s).toLower(icu::Locale::getRoot()).toUTF8String(out);
      return out;
    };
  }
  if (type == "Strip") {
    const bool left = get_bool(config, "strip_left", false, where);
    const bool right = get_bool(config, "strip_right", false, where);
    return [left, right](std::string s) {
      std::string_view v = s;
      if (left) v = js_trim_start(v);
      if (right) v = js_trim_end(v);
      return std::string(v);
    };
  }
  if (type == "Sequence") {
    const json& list = config.contains("normalizers") ? config["normalizers"] : json();
    if (!list.is_array())
      throw FormatError(where + ".normalizers is " + shown(list) + ", expected a list");
    std::vector<Normalizer> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      Normalizer n = make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]");
      if (n) steps.push_back(std::move(n));
    }
    return [steps](std::string s) {
      for (const auto& step : steps) s = step(std::move(s));
      return s;
    };
  }
  unsupported(where, config, "NFC, NFD, NFKC, NFKD, Replace, Prepend, Lowercase, Strip, Sequence");
}

}  // namespace elarin::hf_tokenizer
