// The OpenAI-compatible chat client of `elarin chat --url` (see the header).
#include "openai_client.hpp"

#include <httplib.h>

#include "elarin/core/errors.hpp"

namespace elarin::serve {

struct OpenAIChatClient::Impl {
  std::string origin;  // scheme://host:port
  std::string prefix;  // /v1
  std::string api_key;
  std::string model;
  std::unique_ptr<httplib::Client> http;

  httplib::Headers headers() const {
    httplib::Headers h;
    if (!api_key.empty()) h.emplace("Authorization", "Bearer " + api_key);
    return h;
  }
};

namespace {

// The server's message from an error body in OpenAI's or Ollama's shape, else the body itself.
std::string error_message(int status, const std::string& body) {
  std::string message = body.substr(0, 300);
  try {
    const auto j = nlohmann::json::parse(body);
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message"))
      message = j["error"]["message"].get<std::string>();
    else if (j.contains("error") && j["error"].is_string())
      message = j["error"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return "the server answered " + std::to_string(status) + ": " + message;
}

}  // namespace

OpenAIChatClient::OpenAIChatClient(const std::string& url, std::string api_key,
                                   std::string model)
    : impl_(std::make_unique<Impl>()) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || (url.compare(0, scheme_end, "http") != 0 &&
                                          url.compare(0, scheme_end, "https") != 0))
    throw UsageError("--url " + url + ": expected http://HOST:PORT or https://HOST[/PREFIX]");
  const auto path = url.find('/', scheme_end + 3);
  impl_->origin = url.substr(0, path);
  impl_->prefix = path == std::string::npos ? "/v1" : url.substr(path);
  while (!impl_->prefix.empty() && impl_->prefix.back() == '/') impl_->prefix.pop_back();
  if (impl_->prefix.empty()) impl_->prefix = "/v1";
  impl_->api_key = std::move(api_key);
  impl_->model = std::move(model);
  impl_->http = std::make_unique<httplib::Client>(impl_->origin);
  if (!impl_->http->is_valid()) throw UsageError("--url " + url + ": not a valid address");
  impl_->http->set_connection_timeout(10, 0);
  impl_->http->set_read_timeout(600, 0);  // a long answer on a slow model
}

OpenAIChatClient::~OpenAIChatClient() = default;

const std::string& OpenAIChatClient::model() {
  if (!impl_->model.empty()) return impl_->model;
  auto r = impl_->http->Get(impl_->prefix + "/models", impl_->headers());
  if (!r)
    throw Error("cannot reach " + impl_->origin + ": " + httplib::to_string(r.error()));
  if (r->status != 200) throw Error(error_message(r->status, r->body));
  try {
    impl_->model = nlohmann::json::parse(r->body).at("data").at(0).at("id").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    throw Error(impl_->origin + impl_->prefix + "/models lists no model; pass --model NAME");
  }
  return impl_->model;
}

std::string OpenAIChatClient::stream(const nlohmann::ordered_json& messages,
                                     const models::GenerateOptions& o,
                                     const std::function<bool(const std::string&)>& on_text) {
  nlohmann::ordered_json body = {{"model", model()},          {"messages", messages},
                                 {"stream", true},            {"temperature", o.temperature},
                                 {"max_tokens", o.max_new_tokens}, {"seed", o.seed}};
  if (o.top_k > 0) body["top_k"] = o.top_k;
  httplib::Request req;
  req.method = "POST";
  req.path = impl_->prefix + "/chat/completions";
  req.headers = impl_->headers();
  req.headers.emplace("Accept", "text/event-stream");
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  int status = 0;
  std::string raw;      // the whole body when the status is not 200
  std::string pending;  // SSE bytes not yet a whole line
  std::string finish;
  bool stopped = false;
  std::string failure;
  req.response_handler = [&](const httplib::Response& res) {
    status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status != 200) {
      raw.append(data, n);
      return true;
    }
    pending.append(data, n);
    for (size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("data:", 0) != 0) continue;  // comments, event names, blank lines
      const std::string payload = line.substr(line[5] == ' ' ? 6 : 5);
      if (payload == "[DONE]") return true;
      nlohmann::json chunk;
      try {
        chunk = nlohmann::json::parse(payload);
      } catch (const nlohmann::json::exception&) {
        failure = "the server sent a line that is not JSON: " + payload.substr(0, 200);
        return false;
      }
      if (chunk.contains("error")) {
        failure = error_message(500, payload);
        return false;
      }
      if (!chunk.contains("choices") || !chunk["choices"].is_array() || chunk["choices"].empty())
        continue;  // the usage chunk
      const auto& c = chunk["choices"][0];
      if (c.contains("finish_reason") && c["finish_reason"].is_string())
        finish = c["finish_reason"].get<std::string>();
      if (c.contains("delta") && c["delta"].contains("content") && c["delta"]["content"].is_string())
        if (!on_text(c["delta"]["content"].get<std::string>())) {
          stopped = true;
          return false;  // closes the connection: the server frees the slot
        }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool ok = impl_->http->send(req, res, err);
  if (stopped) return "cancelled";
  if (!failure.empty()) throw Error(failure);
  if (!ok && status == 0)
    throw Error("cannot reach " + impl_->origin + ": " + httplib::to_string(err));
  if (status != 200) throw Error(error_message(status, raw));
  return finish.empty() ? "stop" : finish;
}

}  // namespace elarin::serve
