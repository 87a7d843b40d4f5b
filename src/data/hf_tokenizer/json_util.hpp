// Small readers for tokenizer.json-family files: typed members with errors that name the file,
// the key path, the value found and what was expected; and the literal replace-all the
// components share. Leaves out the components themselves.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "elarin/core/errors.hpp"

namespace elarin::hf_tokenizer {

// `s` with every occurrence of `from` replaced by `to` (JavaScript's replaceAll of a string).
inline std::string replace_all(const std::string& s, const std::string& from,
                               const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  size_t prev = 0;
  for (size_t pos; (pos = s.find(from, prev)) != std::string::npos; prev = pos + from.size()) {
    out.append(s, prev, pos - prev);
    out += to;
  }
  out.append(s, prev, std::string::npos);
  return out;
}

// A value as messages show it: its JSON type and a short dump.
inline std::string shown(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return std::string(value.type_name()) + " " + text;
}

// obj[key] when present and not null, else `fallback`; another type is a FormatError.
inline bool get_bool(const nlohmann::json& obj, const char* key, bool fallback,
                     const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    throw FormatError(where + "." + key + " is " + shown(*it) + ", expected true or false");
  return it->get<bool>();
}

inline std::string get_string(const nlohmann::json& obj, const char* key,
                              const std::string& fallback, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_string())
    throw FormatError(where + "." + key + " is " + shown(*it) + ", expected a string");
  return it->get<std::string>();
}

inline int64_t get_int(const nlohmann::json& obj, const char* key, int64_t fallback,
                       const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number_integer())
    throw FormatError(where + "." + key + " is " + shown(*it) + ", expected an integer");
  return it->get<int64_t>();
}

// obj["type"] as a string ("(no type)" when absent).
inline std::string type_of(const nlohmann::json& obj) {
  const auto it = obj.find("type");
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "(no type)";
}

// The component's type is not one this build implements: names it and lists the supported ones.
[[noreturn]] inline void unsupported(const std::string& where, const nlohmann::json& obj,
                                     const std::string& supported) {
  throw FormatError(where + ".type is '" + type_of(obj) +
                    "': not supported (supported: " + supported + ")");
}

}  // namespace elarin::hf_tokenizer
