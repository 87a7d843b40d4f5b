// A region in another process, called over the bus (see the header).
#include "brain/remote_region.hpp"

#include <torch/torch.h>

#include "brain/bus_protocol.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::brain {
namespace {

BusMessage ask(bus::Op op, int64_t tick = 0) { return bus::message(op, bus::kRelay, tick); }

}  // namespace

RemoteRegion::RemoteRegion(const std::string& name, CorpusCallosum& bus) : Region(name), bus_(bus) {
  const BusMessage& h = bus.hello(name);
  inputs_ = bus::parse_specs(bus::get(h, "region.inputs"));
  outputs_ = bus::parse_specs(bus::get(h, "region.outputs"));
  develops_ = bus::get(h, "region.develops") == "1";
  modulates_ = bus::get(h, "region.modulates") == "1";
}

int64_t RemoteRegion::start_tick(const TickContext& ctx, const Ports& in) {
  BusMessage m = ask(bus::Op::kTick);
  bus::put_context(m, ctx);
  for (const auto& [name, t] : in) m.tensors[name] = t;
  return bus_.send(name(), std::move(m));
}

Ports RemoteRegion::finish_tick(int64_t id) {
  BusMessage reply = bus_.receive(id);
  return Ports(reply.tensors.begin(), reply.tensors.end());
}

Ports RemoteRegion::tick(const TickContext& ctx, const Ports& in) {
  return finish_tick(start_tick(ctx, in));
}

void RemoteRegion::learn(const Neuromodulators& mods) {
  BusMessage m = ask(bus::Op::kLearn, mods.tick);
  bus::put_modulators(m, mods);
  bus_.post(name(), std::move(m));
}

RegionState RemoteRegion::state() const {
  BusMessage reply = bus_.request(name(), ask(bus::Op::kState));
  return RegionState(reply.tensors.begin(), reply.tensors.end());
}

void RemoteRegion::load_state(const RegionState& state) {
  BusMessage m = ask(bus::Op::kLoadState);
  for (const auto& [k, t] : state) m.tensors[k] = t;
  try {
    bus_.request(name(), std::move(m));
  } catch (const Error& e) {  // the region's own FormatError, as a local region throws it
    throw FormatError(e.what());
  }
}

void RemoteRegion::initialise(uint64_t seed) {
  BusMessage m = ask(bus::Op::kInitialise);
  m.header["region.seed"] = std::to_string(seed);
  bus_.request(name(), std::move(m));
}

void RemoteRegion::develop(const torch::Tensor& samples, uint64_t seed) {
  BusMessage m = ask(bus::Op::kDevelop);
  m.header["region.seed"] = std::to_string(seed);
  m.tensors["samples"] = samples;
  bus_.request(name(), std::move(m), /*patient=*/true);
}

Neuromodulators RemoteRegion::neuromodulate(int64_t tick, double reward, bool treat) {
  BusMessage m = ask(bus::Op::kNeuromodulate, tick);
  m.header["reward.value"] = bus::exact(reward);
  m.header["reward.treat"] = treat ? "1" : "0";
  return bus::get_modulators(bus_.request(name(), std::move(m)));
}

Region::Restored RemoteRegion::restore(const std::string& path, bool neurogenesis, uint64_t seed) {
  BusMessage m = ask(bus::Op::kRestore);
  m.header["region.path"] = path;
  m.header["region.neurogenesis"] = neurogenesis ? "1" : "0";
  m.header["region.seed"] = std::to_string(seed);
  const std::string how = bus::get(bus_.request(name(), std::move(m)), "region.restored");
  return how == "loaded"        ? Restored::kLoaded
         : how == "initialised" ? Restored::kInitialised
                                : Restored::kStateless;
}

bool RemoteRegion::persist(const std::string& path,
                           const std::map<std::string, std::string>& metadata) const {
  BusMessage m = ask(bus::Op::kPersist);
  m.header["region.path"] = path;
  for (const auto& [k, v] : metadata) m.header["meta." + k] = v;
  return bus::get(bus_.request(name(), std::move(m)), "region.persisted") == "1";
}

}  // namespace elarin::brain
