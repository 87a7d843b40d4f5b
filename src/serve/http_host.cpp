// The HTTP host every elarin server shares (see http_host.hpp).
#include "http_host.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::serve {
namespace {

int g_stop_pipe[2] = {-1, -1};
struct sigaction g_old_int {}, g_old_term {};

void on_stop_signal(int) {
  const char c = 1;
  const ssize_t n = ::write(g_stop_pipe[1], &c, 1);  // async-signal-safe
  (void)n;
}

std::string bearer_key(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  static const std::string kBearer = "Bearer ";
  if (auth.compare(0, kBearer.size(), kBearer) == 0) return auth.substr(kBearer.size());
  return req.get_header_value("X-Api-Key");
}

// Constant-time comparison: the time taken does not tell how much of a key was right.
bool same_key(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<size_t>(b.size(), 1)];
  return diff == 0;
}

}  // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

void check_host_options(const HttpOptions& o) {
  if (!o.api_key.empty() && o.no_auth)
    throw UsageError("--no-auth and an API key contradict each other: give one");
  if (o.api_key.empty() && !o.no_auth && !is_loopback(o.host))
    throw UsageError("--host " + o.host +
                     " is reachable from other machines and no API key is set: pass --api-key K "
                     "(or --api-key-file F), or --no-auth to serve it open on purpose");
  if (o.port < 0 || o.port > 65535)
    throw UsageError("--port: got " + std::to_string(o.port) + ", expected 0..65535");
}

HttpHost::HttpHost(const HttpOptions& o, int default_threads,
                   std::function<bool(const std::string&)> is_public, ErrorWriter write_error)
    : options_(o) {
  const int threads = std::max(1, o.threads > 0 ? o.threads : default_threads);
  new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  set_payload_max_length(o.max_body_bytes);
  set_read_timeout(10, 0);
  set_write_timeout(30, 0);
  set_keep_alive_timeout(5);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle holds the body back
  // until the client acks the headers, which a delayed ACK puts off by up to 40 ms a response.
  set_tcp_nodelay(true);
  const std::string key = o.api_key;
  set_pre_routing_handler([key, is_public, write_error](const httplib::Request& req,
                                                       httplib::Response& res) {
    if (key.empty() || is_public(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    const std::string given = bearer_key(req);
    if (same_key(given, key)) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    e.status = 401;
    e.type = "authentication_error";
    e.code = "invalid_api_key";
    e.message = given.empty() ? "no API key: send 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'"
                              : "invalid API key";
    write_error(req, res, e);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses httplib sets itself (404 no route, 413 body too large, 400 bad request line) get a
  // body in the dialect of the path.
  set_error_handler(httplib::Server::HandlerWithResponse(
      [write_error](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        ApiError e;
        e.status = res.status;
        if (res.status == 404) {
          e.code = "not_found";
          e.message = "no route " + req.method + " " + req.path;
        } else if (res.status == 413) {
          e.code = "payload_too_large";
          e.message = "the request body is larger than the server accepts";
        } else {
          e.message = "bad request (" + std::to_string(res.status) + ")";
        }
        write_error(req, res, e);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

int HttpHost::bind() {
  int port = options_.port;
  if (port == 0) {
    port = bind_to_any_port(options_.host);
    if (port < 0) throw Error("cannot bind " + options_.host + " to a free port");
  } else if (!bind_to_port(options_.host, port)) {
    throw Error("cannot listen on " + options_.host + ":" + std::to_string(port) +
                " (in use, or not an address of this machine)");
  }
  // cpp-httplib 0.11 (Debian's build) listens with a backlog of 5: in a burst of new connections
  // (8 streams opening at once) the SYNs past it are dropped and each such client retries a
  // second later. Linux lets listen() again on a listening socket set a new backlog.
  if (::listen(svr_sock_, SOMAXCONN) != 0)
    log_warn("http: cannot raise the listen backlog: {}", errno_message(errno));
  return port;
}

StopSignals::StopSignals() {
  if (::pipe(g_stop_pipe) != 0) throw Error("cannot create a pipe: " + errno_message(errno));
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  ::close(g_stop_pipe[0]);
  ::close(g_stop_pipe[1]);
  g_stop_pipe[0] = g_stop_pipe[1] = -1;
}

void StopSignals::wait() {
  char c = 0;
  while (::read(g_stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
  }
}

void StopSignals::notify() { on_stop_signal(0); }

}  // namespace elarin::serve
