// A streaming client of an OpenAI-compatible chat API (elarin serve, llama-server, vLLM,
// OpenAI itself): what `elarin chat --url` talks through. POST {prefix}/chat/completions with
// stream: true, SSE parsed as it comes. Errors come back as elarin::Error with the server's
// message. Leaves out tools and images.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "elarin/models/elara/generate.hpp"

namespace elarin::serve {

class OpenAIChatClient {
 public:
  // url: http(s)://host[:port][/prefix]; the prefix defaults to /v1. UsageError for a bad URL.
  OpenAIChatClient(const std::string& url, std::string api_key, std::string model);
  ~OpenAIChatClient();
  // The model's name: the one given, else the first of GET {prefix}/models. Error if unreachable.
  const std::string& model();
  // Streams the answer to `messages`: on_text(piece) for each piece, false to stop. Returns the
  // finish_reason ("stop", "length", or "cancelled" when on_text stopped it).
  std::string stream(const nlohmann::ordered_json& messages, const models::GenerateOptions& o,
                     const std::function<bool(const std::string&)>& on_text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace elarin::serve
