// The Brain API and the dashboard's files (see brain_server.hpp): GET /brain/state,
// GET /brain/events (server-sent events), POST /brain/feedback, POST /brain/stimulus (PNG, WAV
// or text), GET /brain/stimulus/N (what episode N showed, float32), POST /brain/control.
// Errors in OpenAI's shape, as `elarin serve` answers them.
#include "brain_server.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/data/image_png.hpp"
#include "elarin/data/wav.hpp"
#include "http.hpp"
#include "http_host.hpp"

namespace elarin::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The ApiError of a Brain API handler's exception.
ApiError brain_error_of(const std::exception_ptr& ep) {
  ApiError e;
  try {
    std::rethrow_exception(ep);
  } catch (const ApiError& a) {
    return a;
  } catch (const brain::Conflict& x) {
    e.status = 409;
    e.code = "conflict";
    e.message = x.what();
  } catch (const brain::Busy& x) {
    e.status = x.status;
    e.type = x.status == 429 ? "rate_limit_error" : "unavailable_error";
    e.code = x.status == 429 ? "queue_full" : "not_running";
    e.message = x.what();
  } catch (const UsageError& x) {
    e.message = x.what();
  } catch (const FormatError& x) {
    e.code = "bad_stimulus";
    e.message = x.what();
  } catch (const std::exception&) {
    return api_error_of(ep);
  }
  return e;
}

httplib::Server::Handler brain_route(Handler h) {
  return [h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    try {
      h(req, res);
    } catch (...) {
      send_error(res, Dialect::kOpenAI, brain_error_of(std::current_exception()));
    }
  };
}

json json_body(const httplib::Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::exception& e) {
    throw ApiError{400, std::string("the body is not JSON: ") + e.what(), "invalid_request_error",
                   "", "bad_json"};
  }
}

std::string media_type(const httplib::Request& req) {
  std::string t = req.get_header_value("Content-Type");
  t = t.substr(0, t.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

void add_brain_routes(httplib::Server& svr, brain::LiveSession& session) {
  svr.Get("/health", [&session](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", session.running() ? "ok" : "stopped"}});
  });
  svr.Get("/brain/state", brain_route([&session](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, session.state());
  }));
  svr.Post("/brain/feedback",
           brain_route([&session](const httplib::Request& req, httplib::Response& res) {
             send_json(res, 200, session.feedback(json_body(req)));
           }));
  svr.Post("/brain/control",
           brain_route([&session](const httplib::Request& req, httplib::Response& res) {
             send_json(res, 200, session.control(json_body(req)));
           }));
  svr.Post("/brain/stimulus",
           brain_route([&session](const httplib::Request& req, httplib::Response& res) {
             const std::string type = media_type(req);
             std::string source = req.has_param("source") ? req.get_param_value("source") : "";
             if (source.size() > 32) source.resize(32);
             json answer;
             if (req.body.empty()) throw UsageError("the stimulus is empty");
             if (type == "image/png") {
               const auto rgb = decode_png(req.body, "the PNG sent", int64_t(1) << 24);
               answer = session.stimulus(
                   "image", brain::image_to_port(rgb, session.port_size("image")),
                   source.empty() ? "upload" : source);
             } else if (type == "audio/wav" || type == "audio/x-wav" || type == "audio/wave") {
               const auto wav = decode_wav(req.body, "the WAV sent", 16000);
               answer = session.stimulus(
                   "audio", brain::sound_to_port(wav.samples, session.port_size("audio")),
                   source.empty() ? "upload" : source);
             } else if (type == "text/plain") {
               answer = session.stimulus(
                   "text", brain::text_to_port(req.body, session.port_size("text")),
                   source.empty() ? "text" : source);
             } else {
               throw ApiError{415,
                              "Content-Type '" + type +
                                  "' is not a stimulus: send image/png, audio/wav (16 kHz, 16-bit "
                                  "mono) or text/plain",
                              "invalid_request_error", "", "unsupported_media_type"};
             }
             send_json(res, 202, answer);
           }));
  svr.Get(R"(/brain/stimulus/(\d+))",
          brain_route([&session](const httplib::Request& req, httplib::Response& res) {
            const int64_t n = std::stoll(req.matches[1]);
            const auto shown = session.shown(n);
            if (!shown)
              throw ApiError{404, "episode " + std::to_string(n) + "'s stimulus is no longer kept",
                             "invalid_request_error", "", "not_found"};
            const auto v = shown->second.to(torch::kFloat32).contiguous();
            res.set_header("X-Elarin-Port", shown->first);
            res.set_header("Cache-Control", "max-age=3600");
            res.set_content(std::string(static_cast<const char*>(v.data_ptr()),
                                        static_cast<size_t>(v.nbytes())),
                            "application/octet-stream");
          }));
  // Server-sent events from `after` (a query parameter, or the Last-Event-ID a reconnecting
  // EventSource sends; default: only events from now on).
  svr.Get("/brain/events", brain_route([&session](const httplib::Request& req,
                                                  httplib::Response& res) {
    int64_t after = session.last_event_id();
    const std::string last = req.has_param("after") ? req.get_param_value("after")
                                                    : req.get_header_value("Last-Event-ID");
    if (!last.empty()) {
      try {
        after = std::stoll(last);
      } catch (const std::exception&) {
        throw ApiError{400, "'after' is '" + last + "', expected an event id",
                       "invalid_request_error", "after", ""};
      }
    }
    double rate = 0;
    if (req.has_param("answers_per_s")) {
      const std::string v = req.get_param_value("answers_per_s");
      char* end = nullptr;
      rate = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(rate >= 0) || rate > 1e6)
        throw ApiError{400, "'answers_per_s' is '" + v + "', expected a number >= 0 (0 = all)",
                       "invalid_request_error", "answers_per_s", ""};
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto cursor = std::make_shared<int64_t>(after);
    auto quiet = std::make_shared<int>(0);
    auto sampler = std::make_shared<brain::EventSampler>(rate);
    res.set_chunked_content_provider(
        "text/event-stream", [&session, cursor, quiet, sampler](size_t, httplib::DataSink& sink) {
          auto events = session.events_after(*cursor, std::chrono::milliseconds(1000));
          // A running brain publishes hundreds of events a second: gather 50 ms of them into one
          // write, so neither this thread nor the page wakes for each.
          if (!events.empty() && session.running()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            auto more = session.events_after(events.back().id, std::chrono::milliseconds(0));
            events.insert(events.end(), more.begin(), more.end());
          }
          std::string out;
          const auto now = std::chrono::steady_clock::now();
          for (const auto& e : events) {
            *cursor = e.id;
            if (!sampler->keep(e, now)) continue;
            out += "id: " + std::to_string(e.id) + "\nevent: " + e.type + "\ndata: " + e.data +
                   "\n\n";
          }
          if (out.empty() && ++*quiet >= 10) {  // a comment every ~10 s: a gone client is noticed
            out = ": keep-alive\n\n";
            *quiet = 0;
          }
          if (!out.empty() && !sink.write(out.data(), out.size())) return false;
          if (!session.running()) {
            sink.done();
            return true;
          }
          return true;
        });
  }));
}

}  // namespace

std::string find_web_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("ELARIN_WEB")) candidates.emplace_back(env);
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "web");
    candidates.push_back(exe.parent_path().parent_path() / "web");
    candidates.push_back(exe.parent_path().parent_path() / "share" / "elarin" / "web");
  }
  candidates.emplace_back(fs::path(ELARIN_SOURCE_DIR) / "web");
  std::string tried;
  for (const auto& c : candidates) {
    if (fs::exists(c / "index.html")) return c.string();
    tried += (tried.empty() ? "" : ", ") + c.string();
  }
  throw Error("the dashboard's files (web/index.html) are not in any of: " + tried +
              "; pass --web DIR or set ELARIN_WEB");
}

void check_brain_options(const BrainServeOptions& options) {
  check_host_options(options.http);
  if (!options.web_dir.empty() && !fs::exists(fs::path(options.web_dir) / "index.html"))
    throw UsageError("--web " + options.web_dir + ": no index.html there");
  if (options.web_dir.empty()) find_web_dir();
}

brain::NamingResult serve_brain(const BrainServeOptions& options, brain::LiveSession& session,
                                int64_t steps) {
  check_brain_options(options);
  const std::string web = options.web_dir.empty() ? find_web_dir() : options.web_dir;
  // What a crash took from the brain comes back before anyone can ask for its state.
  session.recover();
  StopSignals signals;
  // The page and its files are open (it asks for the key); the Brain API needs the key.
  HttpHost svr(options.http, 16,
               [](const std::string& path) { return path.rfind("/brain/", 0) != 0; },
               [](const httplib::Request&, httplib::Response& res, const ApiError& e) {
                 send_error(res, Dialect::kOpenAI, e);
               });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                               std::exception_ptr ep) {
    send_error(res, Dialect::kOpenAI, brain_error_of(ep));
  });
  if (!svr.set_mount_point("/", web)) throw Error("cannot serve the directory " + web);
  svr.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  add_brain_routes(svr, session);
  const int port = svr.bind();
  log_info("dashboard on http://{}:{}/ (files from {}){}", options.http.host, port, web,
           options.http.api_key.empty() ? "" : ", API key required for /brain/");
  std::cout << "listening on http://" << options.http.host << ":" << port << std::endl;
  std::thread http([&] {
    svr.listen_after_bind();
    session.stop();
  });
  std::thread stopper([&] {
    signals.wait();
    session.stop();
  });
  brain::NamingResult result;
  std::exception_ptr failed;
  try {
    result = session.run(steps);
  } catch (...) {
    failed = std::current_exception();
  }
  svr.stop();
  http.join();
  signals.notify();
  stopper.join();
  if (failed) std::rethrow_exception(failed);
  return result;
}

}  // namespace elarin::serve
