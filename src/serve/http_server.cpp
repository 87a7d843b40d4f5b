// `elarin serve`'s HTTP server: loading, the routes every dialect shares (/health, /metrics,
// /tokenize, /detokenize), auth, errors in the client's dialect, and running until SIGINT or
// SIGTERM. The OpenAI and Ollama routes are in openai_routes.cpp and ollama_routes.cpp.
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cerrno>

#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "http.hpp"
#include "http_host.hpp"
#include "server.hpp"

namespace elarin::serve {
namespace {

// When the model was written: its weights file (a directory's model.safetensors), else the path.
std::chrono::system_clock::time_point model_mtime(const std::string& path,
                                                  std::chrono::system_clock::time_point fallback) {
  struct stat st {};
  if (::stat((path + "/model.safetensors").c_str(), &st) != 0 && ::stat(path.c_str(), &st) != 0)
    return fallback;
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

// Routes open without a key: liveness and the model lists (what llama-server and Ollama
// leave open too).
bool is_public(const std::string& path) {
  return path == "/health" || path == "/v1/models" || path == "/api/tags" || path == "/";
}

// The route a request counts under in /metrics: known routes by name, the rest as "other" (so
// a scan of random paths cannot grow the label set).
std::string metrics_route(const std::string& path) {
  static const std::set<std::string> known = {
      "/", "/health", "/metrics", "/tokenize", "/detokenize", "/v1/models",
      "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/api/generate",
      "/api/chat", "/api/embed", "/api/embeddings", "/api/tags", "/api/show", "/api/ps",
      "/api/version"};
  return known.count(path) ? path : "other";
}

void add_common_routes(httplib::Server& svr, Service& s) {
  svr.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });
  svr.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    const auto& e = *s.engine;
    res.set_content(
        s.metrics->render({
            {"elarin_queue_depth", "Requests waiting for a slot.", static_cast<double>(e.queued())},
            {"elarin_active_slots", "Slots decoding a request.", static_cast<double>(e.active())},
            {"elarin_slots", "Slots (--parallel).", static_cast<double>(e.options().parallel)},
            {"elarin_kv_cache_bytes", "Bytes the slots' KV caches hold.",
             static_cast<double>(e.cache_bytes())},
        }),
        "text/plain; version=0.0.4; charset=utf-8");
  });
  // llama-server's shapes: the text's ids without special tokens, and back.
  svr.Post("/tokenize", guarded(Dialect::kOpenAI, [&s](const httplib::Request& req,
                                                       httplib::Response& res) {
    const auto j = parse_body(req.body);
    const auto content = string_field(j, "content");
    if (!content) throw ApiError{400, "'content' (the text to tokenize) is missing", "invalid_request_error", "content", ""};
    const bool add_special = bool_field(j, "add_special").value_or(false);
    const bool with_pieces = bool_field(j, "with_pieces").value_or(false);
    const auto ids = add_special ? s.model.encode_prompt(*content) : s.model.tokenizer->encode(*content);
    auto tokens = nlohmann::json::array();
    for (const int64_t id : ids) {
      if (with_pieces)
        tokens.push_back({{"id", id}, {"piece", valid_text(s.model.tokenizer->decode({id}))}});
      else
        tokens.push_back(id);
    }
    send_json(res, 200, {{"tokens", tokens}});
  }));
  svr.Post("/detokenize", guarded(Dialect::kOpenAI, [&s](const httplib::Request& req,
                                                         httplib::Response& res) {
    const auto j = parse_body(req.body);
    const auto it = j.find("tokens");
    if (it == j.end() || !it->is_array())
      throw ApiError{400, "'tokens' must be an array of token ids", "invalid_request_error", "tokens", ""};
    std::vector<int64_t> ids;
    const int64_t V = s.engine->vocab_size();
    for (const auto& t : *it) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= V)
        throw ApiError{400, "'tokens' holds " + t.dump() + ", expected token ids 0.." + std::to_string(V - 1),
                       "invalid_request_error", "tokens", ""};
      ids.push_back(t.get<int64_t>());
    }
    send_json(res, 200, {{"content", valid_text(s.model.tokenizer->decode(ids))}});
  }));
}

}  // namespace

void check_options(const ServeOptions& opts) { check_host_options(opts.http); }

int run_server(const ServeOptions& opts, TextModel model) {
  check_options(opts);
  // A signal wakes a waiting thread, which stops the server cleanly.
  StopSignals signals;

  Service s;
  s.options = opts;
  s.model = std::move(model);
  for (const auto& p : s.model.lm->parameters()) {
    s.parameters += p.numel();
    s.weight_bytes += p.numel() * static_cast<int64_t>(p.element_size());
  }
  if (!opts.alias.empty()) {
    s.name = opts.alias;
  } else {
    std::string path = opts.model;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    s.name = path.substr(path.find_last_of('/') + 1);
    if (s.name == "model.safetensors") {
      const std::string dir = path.substr(0, path.find_last_of('/'));
      s.name = dir.substr(dir.find_last_of('/') + 1);
    }
  }
  s.metrics = std::make_unique<Metrics>();
  const auto hf = s.model.hf;
  EngineOptions engine_options = opts.engine;
  engine_options.scheduler_thread = false;  // this thread, which loaded the model (engine.hpp)
  engine_options.release_model_weights = true;  // one copy of the weights: the decoder's
  s.engine = std::make_unique<Engine>(
      s.model.lm, s.model.tokenizer, s.model.stop_ids, engine_options,
      [hf](int64_t id) { return hf && hf->is_special(id); }, s.metrics.get());
  s.started = std::chrono::system_clock::now();
  s.modified = model_mtime(opts.model, s.started);
#ifdef __GLIBC__
  // Loading freed tens of MB of small blocks (parsed JSON, the model's weights the decoder
  // took); glibc would keep them for the server's whole life.
  ::malloc_trim(0);
#endif

  HttpHost svr(opts.http, static_cast<int>(opts.engine.parallel + opts.engine.queue + 8),
               is_public, [](const httplib::Request& req, httplib::Response& res, const ApiError& e) {
                 send_error(res, dialect_of(req.path), e);
               });
  svr.set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                               std::exception_ptr ep) {
    send_error(res, dialect_of(req.path), api_error_of(ep));
  });
  svr.set_logger([&s](const httplib::Request& req, const httplib::Response& res) {
    s.metrics->count_request(metrics_route(req.path), res.status);
  });

  add_common_routes(svr, s);
  add_openai_routes(svr, s);
  add_ollama_routes(svr, s);

  const int port = svr.bind();
  // A signal stops the engine first: running and queued requests end at once with a final
  // error in their dialect (a stream's last frame), then the scheduler returns below and the
  // HTTP server stops once its handlers have written those.
  std::thread stopper([&s, &signals] {
    signals.wait();
    s.engine->stop();
  });
  log_info("serving '{}' ({} parameters, {:.1f} MB) on http://{}:{} with {} slots, context {}{}",
           s.name, s.parameters, static_cast<double>(s.weight_bytes) / 1e6, opts.http.host, port,
           opts.engine.parallel, s.engine->context(),
           opts.http.api_key.empty() ? "" : ", API key required");
  // One line on stdout that scripts (and the tests) read for the port.
  std::cout << "listening on http://" << opts.http.host << ":" << port << std::endl;
  // HTTP on its own threads; the scheduler here until the server stops (a signal, or an error
  // of listen), then the stopper is woken if no signal came.
  std::thread http([&] {
    svr.listen_after_bind();
    s.engine->stop();
  });
  s.engine->run();
  // The streams cut by a stop write their final error frame on their next turn: let them (at
  // most 5 s), or the client would see its connection drop without it.
  for (int i = 0; i < 500 && open_streams() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  svr.stop();
  http.join();
  signals.notify();  // wakes the stopper when no signal came
  stopper.join();
  log_info("serve: stopped");
  return 0;
}

}  // namespace elarin::serve
