// What every HTTP server of elarin shares (`elarin serve`, `elarin brain --serve`): where it
// listens and who may call it (HttpOptions, service.hpp, and their checks), a cpp-httplib server set up the
// same way (threads, body limit, timeouts, TCP_NODELAY, a real listen backlog, API-key auth
// before routing, errors that httplib raises itself written by the caller's dialect), and
// SIGINT/SIGTERM turned into something a thread can wait for. Internal to src/serve.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "service.hpp"

namespace elarin::serve {

// UsageError for contradicting options (a non-loopback host without a key and without
// no_auth, a key together with no_auth, a port outside 0..65535).
void check_host_options(const HttpOptions& o);
bool is_loopback(const std::string& host);

class HttpHost : public httplib::Server {
 public:
  using ErrorWriter =
      std::function<void(const httplib::Request&, httplib::Response&, const ApiError&)>;
  // `is_public(path)`: routes open without a key. `write_error` answers an ApiError in the
  // route's dialect (401s, httplib's own 404/413/400 and handlers' exceptions).
  HttpHost(const HttpOptions& o, int default_threads, std::function<bool(const std::string&)> is_public,
           ErrorWriter write_error);
  // Binds host:port (port 0: any free one) and raises the listen backlog; returns the port.
  // Error naming the address when it cannot.
  int bind();

 private:
  HttpOptions options_;
};

// SIGINT and SIGTERM, while this lives, write a byte to a pipe (async-signal-safe, whatever
// thread the kernel picks); wait() returns once one came or notify() was called.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  void wait();
  void notify();
};

}  // namespace elarin::serve
