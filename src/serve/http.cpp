// Dialects, error replies, guarded handlers and job streaming for the server (see http.hpp).
#include "http.hpp"

#include <atomic>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::serve {

Dialect dialect_of(const std::string& path) {
  return path.rfind("/api/", 0) == 0 ? Dialect::kOllama : Dialect::kOpenAI;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json error_json(Dialect d, const ApiError& e) {
  if (d == Dialect::kOllama) return {{"error", e.message}};
  nlohmann::json err = {{"message", e.message}, {"type", e.type}};
  err["param"] = e.param.empty() ? nlohmann::json() : nlohmann::json(e.param);
  err["code"] = e.code.empty() ? nlohmann::json() : nlohmann::json(e.code);
  return {{"error", err}};
}

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
  res.status = status;
  res.set_content(dump(j), "application/json");
}

void send_error(httplib::Response& res, Dialect d, const ApiError& e) {
  send_json(res, e.status, error_json(d, e));
  if (e.status == 503) res.set_header("Retry-After", "1");
}

ApiError api_error_of(const std::exception_ptr& ep) {
  ApiError e;
  try {
    std::rethrow_exception(ep);
  } catch (const ApiError& a) {
    return a;
  } catch (const ContextExceeded& x) {
    e.status = 400;
    e.code = "exceed_context_size_error";
    e.type = "exceed_context_size_error";
    e.message = x.what();
  } catch (const QueueFull& x) {
    e.status = 503;
    e.type = "unavailable_error";
    e.code = "server_busy";
    e.message = x.what();
  } catch (const UsageError& x) {
    e.status = 400;
    e.message = x.what();
  } catch (const std::exception& x) {
    e.status = 500;
    e.type = "server_error";
    e.message = x.what();
    log_error("serve: {}", x.what());
  } catch (...) {
    e.status = 500;
    e.type = "server_error";
    e.message = "unknown error";
  }
  return e;
}

httplib::Server::Handler guarded(Dialect d, Handler h) {
  return [d, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    try {
      h(req, res);
    } catch (...) {
      send_error(res, d, api_error_of(std::current_exception()));
    }
  };
}

ApiError job_error(const Finish& f) {
  ApiError e;
  e.status = 500;
  e.type = "server_error";
  if (f.reason == "shutdown") {
    e.status = 503;
    e.message = "the server is shutting down";
  } else {
    e.message = f.reason == "error" ? "generation failed: " + f.error : "the request was cancelled";
  }
  return e;
}

std::vector<Finish> embed_all(Engine& engine, std::vector<std::vector<int64_t>> inputs) {
  std::vector<Finish> out;
  const size_t window = static_cast<size_t>(engine.options().parallel);
  for (size_t i = 0; i < inputs.size(); i += window) {
    std::vector<std::shared_ptr<Job>> jobs;
    for (size_t k = i; k < std::min(inputs.size(), i + window); ++k)
      jobs.push_back(engine.submit_embedding(std::move(inputs[k])));
    for (auto& job : jobs) {
      out.push_back(job->wait());
      if (out.back().reason != "stop") throw job_error(out.back());
    }
  }
  return out;
}

namespace {
std::atomic<int> g_streams{0};
}  // namespace

int open_streams() { return g_streams.load(); }

void stream_job(httplib::Response& res, const std::string& content_type, std::shared_ptr<Job> job,
                std::function<std::string(const Delta&)> delta_frames,
                std::function<std::string(const Finish&)> final_frames, std::string keepalive) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      content_type,
      [job, delta_frames = std::move(delta_frames), final_frames = std::move(final_frames),
       keepalive = std::move(keepalive)](size_t, httplib::DataSink& sink) {
        Delta d;
        Finish fin;
        const bool done = job->next(&d, &fin, std::chrono::milliseconds(1000));
        std::string out;
        if (!d.text.empty() || !d.tokens.empty()) out += delta_frames(d);
        if (done) out += final_frames(fin);
        if (out.empty()) out = keepalive;
        // An empty write would end the chunked body: write only something.
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          job->cancel();
          return false;
        }
        if (done) sink.done();
        return true;
      },
      [job](bool success) {
        if (!success) job->cancel();
        g_streams.fetch_sub(1);
      });
  g_streams.fetch_add(1);
}

}  // namespace elarin::serve
