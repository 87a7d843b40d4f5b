// Request-field reading and small helpers the routes share (see service.hpp).
#include "service.hpp"

#include <cmath>
#include <ctime>
#include <random>

#include "core/utf8.hpp"

namespace elarin::serve {
namespace {

ApiError bad(const std::string& key, const std::string& message) {
  ApiError e;
  e.status = 400;
  e.param = key;
  e.message = message;
  return e;
}

const char* type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    default: return "a number";
  }
}

}  // namespace

void Service::check_model(const std::string& requested) const {
  if (requested.empty() || requested == name) return;
  // Ollama's clients add ":latest" to bare names.
  if (requested == name + ":latest") return;
  ApiError e;
  e.status = 404;
  e.type = "invalid_request_error";
  e.code = "model_not_found";
  e.param = "model";
  e.message = "model '" + requested + "' not found: this server serves '" + name + "'";
  throw e;
}

nlohmann::json parse_body(const std::string& body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& err) {
    throw bad("", std::string("the request body is not valid JSON: ") + err.what());
  }
  if (!j.is_object())
    throw bad("", std::string("the request body must be a JSON object, got ") + type_name(j));
  return j;
}

std::optional<double> number_field(const nlohmann::json& j, const std::string& key, double lo,
                                   double hi) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number())
    throw bad(key, "'" + key + "' must be a number, got " + type_name(*it));
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw bad(key, "'" + key + "' is " + it->dump() + ", expected " + std::to_string(lo) +
                       " to " + std::to_string(hi));
  return v;
}

std::optional<int64_t> int_field(const nlohmann::json& j, const std::string& key, int64_t lo,
                                 int64_t hi) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() && !(it->is_number_float() && std::floor(it->get<double>()) ==
                                                                 it->get<double>() &&
                                    std::fabs(it->get<double>()) < 9e15))
    throw bad(key, "'" + key + "' must be an integer, got " + it->dump());
  const double d = it->get<double>();
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw bad(key, "'" + key + "' is " + it->dump() + ", expected " + std::to_string(lo) +
                       " to " + std::to_string(hi));
  return it->is_number_unsigned() ? static_cast<int64_t>(it->get<uint64_t>())
                                  : it->get<int64_t>();
}

std::optional<bool> bool_field(const nlohmann::json& j, const std::string& key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean())
    throw bad(key, "'" + key + "' must be true or false, got " + it->dump());
  return it->get<bool>();
}

std::optional<std::string> string_field(const nlohmann::json& j, const std::string& key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw bad(key, "'" + key + "' must be a string, got " + type_name(*it));
  return it->get<std::string>();
}

std::vector<std::string> stop_field(const nlohmann::json& j, const std::string& key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  std::vector<std::string> out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& s : *it) {
      if (!s.is_string())
        throw bad(key, "'" + key + "' must hold strings, got " + std::string(type_name(s)));
      out.push_back(s.get<std::string>());
    }
  } else {
    throw bad(key, "'" + key + "' must be a string or an array of strings, got " +
                       type_name(*it));
  }
  if (out.size() > 16)
    throw bad(key, "'" + key + "' holds " + std::to_string(out.size()) +
                       " strings, at most 16 are allowed");
  for (const auto& s : out)
    if (s.empty()) throw bad(key, "'" + key + "' holds an empty string");
  return out;
}

ApiError field_error(const std::string& param, const std::string& message) {
  return ApiError{400, message, "invalid_request_error", param, ""};
}

std::string rfc3339_now() { return rfc3339(std::chrono::system_clock::now()); }

std::string rfc3339(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()) %
                  std::chrono::seconds(1);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(ns.count()));
  return std::string(buf) + frac;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_id(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kChars[rng() % (sizeof kChars - 1)];
  return out;
}

nlohmann::json bytes_array(const std::string& s) {
  auto a = nlohmann::json::array();
  for (unsigned char c : s) a.push_back(static_cast<int>(c));
  return a;
}

std::string valid_text(const std::string& s) { return to_valid_utf8(s); }

}  // namespace elarin::serve
