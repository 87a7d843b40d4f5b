// The relay between a brain's schedule and its region processes (see the header).
#include "elarin/brain/corpus_callosum.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "brain/bus_protocol.hpp"
#include "brain/zmq_wait.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::brain {
namespace {

std::string exit_text(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "stopped";
}

}  // namespace

struct CorpusCallosum::Impl {
  struct Peer {
    pid_t pid = -1;
    BusMessage hello;
    bool greeted = false;
    int64_t restarts = 0;
    int64_t unanswered_restarts = 0;  // restarts since it last answered a request
    std::string restore;              // the last restore request, replayed after a restart
  };
  // A region that dies this many times in a row without answering is given up on: a request
  // that kills it every time would otherwise restart it forever.
  static constexpr int64_t kRestartsInARow = 3;

  BusOptions options;
  std::vector<std::string> order;
  std::map<std::string, Peer> peers;
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  std::string endpoint;
  BusStats stats;
  int64_t stale = 0;
  int64_t next_id = 0;

  Peer& peer(const std::string& name) {
    auto it = peers.find(name);
    if (it == peers.end()) throw UsageError("bus: no region '" + name + "' on this relay");
    return it->second;
  }

  void reject(const std::string& why) {
    ++stats.rejected;
    stats.last_error = why;
    if (is_power_of_ten(stats.rejected))
      log_warn("corpus callosum: dropped a malformed message ({} so far): {}", stats.rejected, why);
  }

  void spawn(const std::string& name) {
    std::string program = options.program;
    if (program.empty()) program = std::filesystem::read_symlink("/proc/self/exe").string();
    std::vector<std::string> args = {program};
    args.insert(args.end(), options.program_args.begin(), options.program_args.end());
    for (const auto& a : {std::string("region"), name, std::string("--config"), options.config_file,
                          std::string("--bus"), endpoint})
      args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw Error("bus: cannot start region " + name + ": fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec. Its own process group keeps a
      // terminal's Ctrl+C for the brain, which saves first; it dies with the brain.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    Peer& p = peer(name);
    p.pid = pid;
    p.greeted = false;
  }

  // A started region that is gone, reaped; its exit is logged.
  bool died(const std::string& name) {
    Peer& p = peer(name);
    if (p.pid <= 0) return false;
    int status = 0;
    if (::waitpid(p.pid, &status, WNOHANG) != p.pid) return false;
    log_warn("region {} (pid {}) {}", name, p.pid, exit_text(status));
    p.pid = -1;
    p.greeted = false;
    return true;
  }

  // One message within timeout_ms, or nothing. Hellos are taken here; a malformed message,
  // or one whose bus.source is not the sender's name, is counted and dropped.
  std::optional<std::pair<std::string, BusMessage>> receive(int timeout_ms) {
    if (!wait_readable(router, timeout_ms)) return std::nullopt;
    std::vector<zmq::message_t> frames = read_frames(router);
    const std::string from = frames.empty() ? "" : frames[0].to_string();
    try {
      if (frames.size() != 2)
        throw FormatError("bus message from '" + from + "': " + std::to_string(frames.size() - 1) +
                          " frames, expected 1");
      BusMessage m = decode_message(frames[1].data(), frames[1].size());
      if (m.source != from)
        throw FormatError("bus message from '" + from + "' claims to be from '" + m.source + "'");
      if (!peers.count(from))
        throw FormatError("bus message from '" + from + "', which is not a region of this brain");
      const bus::Op op = bus::op_of(m);
      bus::id_of(m);
      ++stats.received;
      if (op == bus::Op::kHello) {
        Peer& p = peer(from);
        p.hello = m;
        p.greeted = true;
        return std::nullopt;
      }
      return std::make_pair(from, std::move(m));
    } catch (const std::exception& e) {
      reject(e.what());
      return std::nullopt;
    }
  }

  void send_bytes(const std::string& name, const std::string& bytes) {
    router.send(zmq::buffer(name), zmq::send_flags::sndmore);
    router.send(zmq::buffer(bytes), zmq::send_flags::none);
  }

  // Waits until `name` has said hello; an Error if it dies first or the wait times out.
  void await_hello(const std::string& name, double timeout_s) {
    const double deadline = now_seconds() + timeout_s;
    while (!peer(name).greeted) {
      receive(50);
      if (peer(name).greeted) break;
      if (died(name))
        throw Error("region " + name + " stopped before it said hello (its errors are above)");
      if (now_seconds() > deadline)
        throw Error("region " + name + " did not say hello on " + endpoint + " within " +
                    std::to_string(static_cast<int>(timeout_s)) + " s" +
                    (options.spawn
                         ? ""
                         : " (start it: elarin region " + name + " --bus " + endpoint + ")"));
    }
  }

  // A dead region started again: hello, then its last restore (its snapshot) replayed.
  void restart(const std::string& name) {
    Peer& p = peer(name);
    ++p.restarts;
    log_warn("region {}: restarting it from its last snapshot (restart {})", name, p.restarts);
    spawn(name);
    await_hello(name, options.timeout_s);
    if (!p.restore.empty()) {
      BusMessage m = decode_message(p.restore.data(), p.restore.size());
      send_bytes(name, p.restore);
      await_reply(name, bus::id_of(m), bus::op_name(bus::op_of(m)), p.restore, false);
    }
  }

  // A request sent and not yet answered (its bytes are resent if its region restarts).
  struct Pending {
    std::string region, op, bytes;
  };
  std::map<int64_t, Pending> pending;
  std::map<int64_t, BusMessage> arrived;  // replies to pending requests not yet collected

  // Waits for the reply to request `id` of `name`. Replies to other pending requests that
  // arrive meanwhile are kept for their own wait; a reply nobody waits for is stale.
  BusMessage await_reply(const std::string& name, int64_t id, const std::string& op,
                         const std::string& bytes, bool patient) {
    double deadline = now_seconds() + options.timeout_s;
    while (true) {
      auto done = arrived.find(id);
      if (done != arrived.end()) {
        BusMessage m = std::move(done->second);
        arrived.erase(done);
        pending.erase(id);
        auto err = m.header.find(bus::kErrorKey);
        if (err != m.header.end()) throw Error("region " + name + ": " + op + ": " + err->second);
        return m;
      }
      if (auto got = receive(20)) {
        const int64_t got_id = bus::id_of(got->second);
        auto it = pending.find(got_id);
        if ((it != pending.end() && it->second.region == got->first) || got_id == id) {
          peer(got->first).unanswered_restarts = 0;
          arrived[got_id] = std::move(got->second);
        } else
          ++stale;
        continue;
      }
      if (options.spawn && died(name)) {
        if (++peer(name).unanswered_restarts > kRestartsInARow) {
          pending.erase(id);
          throw Error("region " + name + " died " + std::to_string(kRestartsInARow + 1) +
                      " times in a row without answering (last request: " + op +
                      "): giving up on it");
        }
        restart(name);
        // Everything it had not answered, in the order it was sent.
        for (const auto& [pid, req] : pending)
          if (req.region == name && !arrived.count(pid)) send_bytes(name, req.bytes);
        if (!pending.count(id)) send_bytes(name, bytes);
        deadline = now_seconds() + options.timeout_s;
        continue;
      }
      if (!patient && now_seconds() > deadline) {
        pending.erase(id);
        throw Error("region " + name + " did not answer " + op + " within " +
                    std::to_string(static_cast<int>(options.timeout_s)) + " s");
      }
    }
  }

  void stop_all() {
    for (const auto& name : order) {
      try {
        BusMessage m = bus::message(bus::Op::kStop, bus::kRelay, 0, ++next_id);
        send_bytes(name, encode_message(m));
      } catch (const std::exception&) {
      }
    }
    const double deadline = now_seconds() + 5;
    for (const auto& name : order) {
      Peer& p = peers[name];
      if (p.pid <= 0) continue;
      int status = 0;
      while (::waitpid(p.pid, &status, WNOHANG) == 0) {
        if (now_seconds() > deadline) {
          ::kill(p.pid, SIGKILL);
          ::waitpid(p.pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      p.pid = -1;
    }
  }
};

CorpusCallosum::CorpusCallosum(BusOptions options, std::vector<std::string> regions)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  m.order = std::move(regions);
  for (const auto& r : m.order) m.peers[r];
  m.router.set(zmq::sockopt::router_mandatory, 1);  // a send to a gone region is an error
  m.router.set(zmq::sockopt::router_handover, 1);   // a restarted region takes its name back
  m.router.set(zmq::sockopt::linger, 0);
  try {
    m.router.bind(m.options.endpoint);
  } catch (const zmq::error_t& e) {
    throw UsageError("brain.bus: cannot bind '" + m.options.endpoint + "': " + e.what());
  }
  m.endpoint = m.router.get(zmq::sockopt::last_endpoint);
  try {
    if (m.options.spawn)
      for (const auto& r : m.order) m.spawn(r);
    for (const auto& r : m.order) m.await_hello(r, m.options.timeout_s);
  } catch (...) {
    m.stop_all();
    throw;
  }
}

CorpusCallosum::~CorpusCallosum() { impl_->stop_all(); }

const std::string& CorpusCallosum::endpoint() const { return impl_->endpoint; }

const BusMessage& CorpusCallosum::hello(const std::string& region) const {
  return impl_->peer(region).hello;
}

int64_t CorpusCallosum::send(const std::string& region, BusMessage m) {
  Impl& s = *impl_;
  Impl::Peer& p = s.peer(region);
  const int64_t id = ++s.next_id;
  m.header[bus::kIdKey] = std::to_string(id);
  const bus::Op op = bus::op_of(m);
  std::string bytes = encode_message(m);
  if (op == bus::Op::kRestore) p.restore = bytes;
  try {
    s.send_bytes(region, bytes);
  } catch (const zmq::error_t& e) {  // EHOSTUNREACH: it is gone; the wait restarts it
    if (!s.options.spawn) throw Error("region " + region + " is not on the bus: " + e.what());
  }
  s.pending[id] = {region, bus::op_name(op), std::move(bytes)};
  return id;
}

BusMessage CorpusCallosum::receive(int64_t id, bool patient) {
  Impl& s = *impl_;
  auto it = s.pending.find(id);
  if (it == s.pending.end()) throw Error("bus: no request " + std::to_string(id) + " is waiting");
  const Impl::Pending req = it->second;
  return s.await_reply(req.region, id, req.op, req.bytes, patient);
}

BusMessage CorpusCallosum::request(const std::string& region, BusMessage m, bool patient) {
  return receive(send(region, std::move(m)), patient);
}

void CorpusCallosum::post(const std::string& region, BusMessage m) {
  Impl& s = *impl_;
  s.peer(region);
  m.header[bus::kIdKey] = std::to_string(++s.next_id);
  try {
    s.send_bytes(region, encode_message(m));
  } catch (const zmq::error_t& e) {  // a dead region loses what it had not saved anyway
    log_warn("region {}: a posted {} was lost: {}", region, m.header[bus::kOpKey], e.what());
  }
}

void CorpusCallosum::send_raw(const std::string& region, const std::string& bytes) {
  impl_->peer(region);
  impl_->send_bytes(region, bytes);
}

const BusStats& CorpusCallosum::stats() const { return impl_->stats; }
int64_t CorpusCallosum::stale() const { return impl_->stale; }
int CorpusCallosum::pid(const std::string& region) const { return impl_->peer(region).pid; }
int64_t CorpusCallosum::restarts(const std::string& region) const {
  return impl_->peer(region).restarts;
}

}  // namespace elarin::brain
