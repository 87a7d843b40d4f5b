// What the HTTP routes of `elarin serve` share: the model and its text tools, the engine, the
// metrics, the options; the API error type and the typed reading of request fields that names
// the bad field. Internal to src/serve (it holds cpp-httplib-free types only).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "elarin/serve/engine.hpp"
#include "elarin/serve/metrics.hpp"
#include "text_model.hpp"

namespace elarin::serve {

// Where an elarin HTTP server listens and who may call it (serve/http_host.hpp uses it).
struct HttpOptions {
  std::string host = "127.0.0.1";    // a non-loopback address needs an API key or no_auth
  int port = 8080;                   // 0 = any free port (printed)
  std::string api_key;               // empty = no auth
  bool no_auth = false;              // serve a non-loopback address without a key, on purpose
  size_t max_body_bytes = 8u << 20;  // larger bodies get 413
  int threads = 0;                   // HTTP worker threads; 0 = the server's default
};

struct ServeOptions {
  std::string model;                // a Hugging Face directory or a `train lm` model.safetensors
  HttpOptions http;                 // where it listens and who may call it (threads 0: parallel + queue + 8)
  std::string alias;                // the model's name in the APIs; default: the path's last part
  std::string chat_template;        // a Jinja file instead of the model's template
  EngineOptions engine;
};

// An error answered in the route's dialect: OpenAI {"error":{message,type,param,code}}, Ollama
// {"error": message}.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the request field at fault, or empty
  std::string code;   // e.g. "model_not_found", "exceed_context_size_error"
};

struct Service {
  ServeOptions options;
  TextModel model;
  std::string name;          // what /v1/models and /api/tags call the model
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Engine> engine;
  int64_t weight_bytes = 0;  // parameters' bytes
  int64_t parameters = 0;
  std::chrono::system_clock::time_point started;
  std::chrono::system_clock::time_point modified;  // the model file's mtime (Ollama's modified_at)

  // UsageError (400) unless `requested` is empty or this model's name.
  void check_model(const std::string& requested) const;
};

// ---- reading request fields (ApiError 400 naming the field) ------------------------------------

// 400 invalid_request_error naming the field at fault.
ApiError field_error(const std::string& param, const std::string& message);
nlohmann::json parse_body(const std::string& body);  // 400 for bad JSON or a non-object
std::optional<double> number_field(const nlohmann::json& j, const std::string& key, double lo,
                                   double hi);
std::optional<int64_t> int_field(const nlohmann::json& j, const std::string& key, int64_t lo,
                                 int64_t hi);
std::optional<bool> bool_field(const nlohmann::json& j, const std::string& key);
std::optional<std::string> string_field(const nlohmann::json& j, const std::string& key);
// "stop": a string or an array of at most 16 non-empty strings.
std::vector<std::string> stop_field(const nlohmann::json& j, const std::string& key);

// A time as RFC 3339 with nanoseconds, UTC (Ollama's created_at, modified_at).
std::string rfc3339(std::chrono::system_clock::time_point t);
std::string rfc3339_now();
int64_t unix_now();
// A random id suffix for chatcmpl-/cmpl- ids.
std::string random_id(size_t n = 24);
// The bytes of a string as a JSON array of numbers (OpenAI logprobs' "bytes").
nlohmann::json bytes_array(const std::string& s);
// Text for a client: ill-formed UTF-8 replaced by U+FFFD (JSON must be valid UTF-8).
std::string valid_text(const std::string& s);

}  // namespace elarin::serve
