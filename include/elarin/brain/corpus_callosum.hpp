// The corpus callosum: the relay of a brain whose regions run one process each. It binds a
// ZeroMQ ROUTER socket, starts one `elarin region NAME` process per region (or waits for
// regions started by hand), and carries every message between the brain's schedule and the
// regions: a request goes to one region and its reply comes back, matched by `req.id`.
// A malformed or impersonating message is counted and dropped. A started region that dies
// (kill -9, a crash) is started again, reloads its last snapshot (the last restore request
// is replayed) and gets the request it died on. Leaves out scheduling: brain/brain.hpp.
//
//   elarin::brain::BusOptions o;
//   o.config_file = "/tmp/brain.yaml";  // what each region process reads
//   elarin::brain::CorpusCallosum cc(o, {"thalamus", "motor"});  // one `elarin region` each
//   elarin::brain::BusMessage request;  // its header says the op (src/brain/bus_protocol.hpp)
//   request.kind = "control";
//   elarin::brain::BusMessage reply = cc.request("thalamus", request);  // matched by req.id
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "elarin/brain/message.hpp"

namespace elarin::brain {

struct BusOptions {
  std::string endpoint = "tcp://127.0.0.1:*";  // where the relay binds; * = any free port
  bool spawn = true;    // start (and restart) one `elarin region` process per region
  std::string program;  // the elarin binary to start; empty = this executable
  std::vector<std::string> program_args;  // global options put before `region NAME`
  std::string config_file;                // the config file every region process reads
  double timeout_s = 120;  // how long a reply may take; development waits without limit
};

class CorpusCallosum {
 public:
  // Binds, starts the regions (spawn) and waits until each has said hello.
  CorpusCallosum(BusOptions options, std::vector<std::string> regions);
  ~CorpusCallosum();  // stops the regions (a stop request, then SIGKILL after 5 s)
  CorpusCallosum(const CorpusCallosum&) = delete;
  CorpusCallosum& operator=(const CorpusCallosum&) = delete;

  const std::string& endpoint() const;  // the bound address, its port resolved
  // The region's latest hello: region.inputs, region.outputs, region.develops, ...
  const BusMessage& hello(const std::string& region) const;
  // Sends `m` (its req.id is set here) and returns the reply. Throws Error when the reply
  // carries reply.error, or none came within timeout_s (`patient`: no limit).
  BusMessage request(const std::string& region, BusMessage m, bool patient = false);
  // request() in two halves, so several regions can work at once: send returns the
  // request's id, receive(id) waits for its reply (replies to other ids are kept for them).
  int64_t send(const std::string& region, BusMessage m);
  BusMessage receive(int64_t id, bool patient = false);
  // Sends `m` and does not wait (learning); the region's queue keeps the order.
  void post(const std::string& region, BusMessage m);
  // Sends raw bytes as one message, unchecked: robustness tests feed regions garbage with it.
  void send_raw(const std::string& region, const std::string& bytes);

  // What the relay received from the regions: malformed or impersonating messages are
  // counted in rejected. stale: well-formed replies that matched no waiting request.
  const BusStats& stats() const;
  int64_t stale() const;
  int pid(const std::string& region) const;  // -1 if not started here
  int64_t restarts(const std::string& region) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace elarin::brain
