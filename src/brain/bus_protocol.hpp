// The protocol regions speak on the ZeroMQ bus: which operation a message asks for
// (`req.op`), how a reply finds its request (`req.id`), and how a tick's context, the
// neuromodulators and a region's ports travel as dotted header keys. Numbers are written
// so they read back bit for bit (doubles with 17 significant digits), which is what makes
// a brain over ZeroMQ emit exactly what the same brain does in one process.
// Leaves out the sockets: brain/corpus_callosum.hpp (the relay), brain/region_service.hpp.
//
//   BusMessage m = bus::request(bus::Op::kTick, "corpus_callosum", 7);
//   bus::put_context(m, ctx);               // tick.seed, tick.temperature
//   TickContext back = bus::get_context(m);  // FormatError on a bad value
#pragma once

#include <string>
#include <vector>

#include "elarin/brain/message.hpp"
#include "elarin/brain/region.hpp"

namespace elarin::brain::bus {

// Header keys.
inline constexpr const char* kOpKey = "req.op";          // the operation asked for
inline constexpr const char* kIdKey = "req.id";          // a request's number, echoed in its reply
inline constexpr const char* kErrorKey = "reply.error";  // set in a reply when the op failed
// The relay's name as a message source.
inline constexpr const char* kRelay = "corpus_callosum";

// Operations. A registered name is a wire contract: never rename one.
enum class Op {
  kHello,          // region -> relay: I am up; my ports (also sent when idle, as a heartbeat)
  kTick,           // ports in -> ports out
  kLearn,          // neuromodulators; no reply
  kNeuromodulate,  // reward -> neuromodulators
  kRestore,        // load my file or grow (neurogenesis) -> region.restored
  kPersist,        // write my file -> region.persisted
  kState,          // -> my state's tensors
  kLoadState,      // tensors -> loaded
  kInitialise,     // fresh weights
  kDevelop,        // samples -> developed
  kStats,          // -> stats.received, stats.rejected, stats.last_error
  kStop,           // exit after replying
};
const char* op_name(Op op);
// FormatError naming the value and the valid ops.
Op parse_op(const std::string& name);
// The bus.kind an op travels as: tick = ports, learn/neuromodulate = reward, else control.
const char* op_kind(Op op);

// A request (or a reply: the same op and id) from `source`.
BusMessage message(Op op, const std::string& source, int64_t tick, int64_t id = 0);
Op op_of(const BusMessage& m);
int64_t id_of(const BusMessage& m);

// Header values, strict: FormatError naming the key and the text.
std::string get(const BusMessage& m, const std::string& key);
int64_t get_int(const BusMessage& m, const std::string& key);
uint64_t get_uint(const BusMessage& m, const std::string& key);
double get_double(const BusMessage& m, const std::string& key);
std::string exact(double v);  // 17 significant digits: reads back to the same double

void put_context(BusMessage& m, const TickContext& ctx);
TickContext get_context(const BusMessage& m);
void put_modulators(BusMessage& m, const Neuromodulators& n);
Neuromodulators get_modulators(const BusMessage& m);

// Port specs as "name=size,name=size" (region.inputs / region.outputs of a hello).
std::string specs_text(const std::vector<PortSpec>& specs);
std::vector<PortSpec> parse_specs(const std::string& text);

}  // namespace elarin::brain::bus
