// A region served on the ZeroMQ bus (see the header).
#include "brain/region_service.hpp"

#include <torch/torch.h>
#include <unistd.h>
#include <zmq.hpp>

#include <chrono>
#include <optional>

#include "brain/bus_protocol.hpp"
#include "brain/zmq_wait.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::brain {
namespace {

BusMessage hello(const Region& r) {
  BusMessage m = bus::message(bus::Op::kHello, r.name(), 0);
  m.header["region.inputs"] = bus::specs_text(r.inputs());
  m.header["region.outputs"] = bus::specs_text(r.outputs());
  m.header["region.develops"] = r.develops() ? "1" : "0";
  m.header["region.modulates"] = r.modulates() ? "1" : "0";
  m.header["region.pid"] = std::to_string(::getpid());
  return m;
}

// The inputs of a tick request, checked against the region's ports: a wrong name or size is
// the sender's error, answered, never passed to the region.
Ports tick_inputs(const Region& r, const BusMessage& m) {
  Ports in;
  for (const auto& p : r.inputs()) {
    auto it = m.tensors.find(p.name);
    if (it == m.tensors.end()) throw FormatError("tick request has no input '" + p.name + "'");
    const auto& t = it->second;
    if (t.dim() != 1 || t.size(0) != p.size || t.scalar_type() != torch::kFloat)
      throw FormatError("input '" + p.name + "' is " + c10::str(t.sizes()) +
                        ", expected float32 [" + std::to_string(p.size) + "]");
    in[p.name] = t;
  }
  if (m.tensors.size() != in.size())
    throw FormatError("tick request has " + std::to_string(m.tensors.size()) +
                      " tensors, the region has " + std::to_string(in.size()) + " inputs");
  return in;
}

// Serves one well-formed request; returns its reply (kind and id set) or nothing (learn).
std::optional<BusMessage> serve(Region& r, const BusMessage& m, bus::Op op, BusStats& stats,
                                bool* stop) {
  BusMessage reply = bus::message(op, r.name(), m.tick, bus::id_of(m));
  switch (op) {
    case bus::Op::kTick: {
      const Ports in = tick_inputs(r, m);
      Ports out = r.tick(bus::get_context(m), in);
      check_ports(r.name(), r.outputs(), out);
      for (auto& [name, t] : out) reply.tensors[name] = t;
      return reply;
    }
    case bus::Op::kLearn:
      r.learn(bus::get_modulators(m));
      return std::nullopt;
    case bus::Op::kNeuromodulate: {
      const std::string treat = bus::get(m, "reward.treat");
      bus::put_modulators(
          reply, r.neuromodulate(m.tick, bus::get_double(m, "reward.value"), treat == "1"));
      return reply;
    }
    case bus::Op::kRestore: {
      const auto how =
          r.restore(bus::get(m, "region.path"), bus::get(m, "region.neurogenesis") == "1",
                    bus::get_uint(m, "region.seed"));
      reply.header["region.restored"] = how == Region::Restored::kLoaded        ? "loaded"
                                        : how == Region::Restored::kInitialised ? "initialised"
                                                                                : "stateless";
      return reply;
    }
    case bus::Op::kPersist: {
      std::map<std::string, std::string> meta;
      for (const auto& [k, v] : m.header)
        if (k.rfind("meta.", 0) == 0) meta[k.substr(5)] = v;
      reply.header["region.persisted"] = r.persist(bus::get(m, "region.path"), meta) ? "1" : "0";
      return reply;
    }
    case bus::Op::kState:
      for (auto& [name, t] : r.state()) reply.tensors[name] = t;
      return reply;
    case bus::Op::kLoadState:
      r.load_state(RegionState(m.tensors.begin(), m.tensors.end()));
      return reply;
    case bus::Op::kInitialise:
      r.initialise(bus::get_uint(m, "region.seed"));
      return reply;
    case bus::Op::kDevelop: {
      auto it = m.tensors.find("samples");
      if (it == m.tensors.end()) throw FormatError("develop request has no 'samples'");
      r.develop(it->second, bus::get_uint(m, "region.seed"));
      return reply;
    }
    case bus::Op::kStats:
      reply.header["stats.received"] = std::to_string(stats.received);
      reply.header["stats.rejected"] = std::to_string(stats.rejected);
      reply.header["stats.last_error"] = stats.last_error.substr(0, 200);
      return reply;
    case bus::Op::kStop:
      *stop = true;
      return reply;
    case bus::Op::kHello:
      throw FormatError("a region does not answer hello");
  }
  return std::nullopt;
}

void send(zmq::socket_t& sock, const BusMessage& m) {
  const std::string bytes = encode_message(m);
  sock.send(zmq::buffer(bytes), zmq::send_flags::none);
}

}  // namespace

BusStats serve_region(Region& region, const std::string& endpoint, const std::atomic<bool>* stop,
                      double hello_every_s) {
  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  sock.set(zmq::sockopt::routing_id, region.name());
  sock.set(zmq::sockopt::linger, 2000);
  sock.connect(endpoint);
  BusStats stats;
  send(sock, hello(region));
  double last_heard = now_seconds();
  bool stopping = false;
  while (!stopping && !(stop && stop->load())) {
    if (!wait_readable(sock, 200)) {
      if (now_seconds() - last_heard >= hello_every_s) {
        send(sock, hello(region));
        last_heard = now_seconds();
      }
      continue;
    }
    last_heard = now_seconds();
    // One message = one frame. Anything else is malformed; its frames are drained.
    std::vector<zmq::message_t> frames = read_frames(sock);
    BusMessage m;
    bus::Op op;
    try {
      if (frames.size() != 1)
        throw FormatError("bus message: " + std::to_string(frames.size()) + " frames, expected 1");
      m = decode_message(frames[0].data(), frames[0].size());
      op = bus::op_of(m);
      bus::id_of(m);
    } catch (const std::exception& e) {
      ++stats.rejected;
      stats.last_error = e.what();
      if (is_power_of_ten(stats.rejected))
        log_warn("region {}: dropped a malformed message ({} so far): {}", region.name(),
                 stats.rejected, e.what());
      continue;
    }
    ++stats.received;
    std::optional<BusMessage> reply;
    try {
      reply = serve(region, m, op, stats, &stopping);
    } catch (const std::exception& e) {
      // The request was well formed but could not be served: say why, keep running.
      if (op == bus::Op::kLearn) {  // nobody waits for a reply to learn
        log_error("region {}: learn at tick {}: {}", region.name(), m.tick, e.what());
        continue;
      }
      reply = bus::message(op, region.name(), m.tick, bus::id_of(m));
      reply->header[bus::kErrorKey] = e.what();
      reply->tensors.clear();
    }
    if (!reply) continue;
    try {
      send(sock, *reply);
    } catch (const UsageError& e) {  // a reply the bus cannot carry: say so, keep running
      BusMessage err = bus::message(op, region.name(), m.tick, bus::id_of(m));
      err.header[bus::kErrorKey] = std::string("reply not sent: ") + e.what();
      send(sock, err);
    }
  }
  return stats;
}

}  // namespace elarin::brain
