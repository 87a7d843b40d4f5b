// The HTTP side of `elarin serve` on cpp-httplib: dialects (OpenAI, Ollama) and their error
// shapes, handlers that turn every exception into an answer in the route's dialect, JSON
// replies, and streaming a job's text as it comes (SSE or NDJSON frames). Internal to src/serve.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

#include "elarin/serve/engine.hpp"
#include "service.hpp"

namespace elarin::serve {

enum class Dialect { kOpenAI, kOllama };

Dialect dialect_of(const std::string& path);  // /api/... is Ollama's, the rest OpenAI's
// JSON text; ill-formed UTF-8 in strings becomes U+FFFD rather than an exception.
std::string dump(const nlohmann::json& j);
nlohmann::json error_json(Dialect d, const ApiError& e);
void send_json(httplib::Response& res, int status, const nlohmann::json& j);
void send_error(httplib::Response& res, Dialect d, const ApiError& e);
// The ApiError a handler's exception stands for (UsageError 400, ContextExceeded 400
// exceed_context_size_error, QueueFull 503, anything else 500).
ApiError api_error_of(const std::exception_ptr& ep);

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
// h, with its exceptions answered in dialect d.
httplib::Server::Handler guarded(Dialect d, Handler h);

// Streams `job`: delta_frames(delta) for text as it comes, final_frames(finish) at the end
// (usage, the done object, or an error frame: never a silent cut). `keepalive` ("" = none) is
// written after a second of silence, so a client that left is noticed (its slot freed) even
// before the first token. A failed write cancels the job.
void stream_job(httplib::Response& res, const std::string& content_type, std::shared_ptr<Job> job,
                std::function<std::string(const Delta&)> delta_frames,
                std::function<std::string(const Finish&)> final_frames,
                std::string keepalive);

// Streams whose last frame is not yet written (a stopping server lets them finish first).
int open_streams();

// Embeddings of several inputs, at most `parallel` in the engine at once (a long list does not
// fill the queue). Throws job_error for one that failed.
std::vector<Finish> embed_all(Engine& engine, std::vector<std::vector<int64_t>> inputs);

// An ApiError for a finished job that failed (reason "error"): 500.
ApiError job_error(const Finish& f);

void add_openai_routes(httplib::Server& svr, Service& s);
void add_ollama_routes(httplib::Server& svr, Service& s);

}  // namespace elarin::serve
