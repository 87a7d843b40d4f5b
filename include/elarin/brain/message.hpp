// A message on the brain's bus: a versioned header of dotted keys plus raw tensor bytes.
// On the wire it is a safetensors buffer (the header keys live in `__metadata__`, the
// tensors are the ports' values), so every message is strictly validated by the same
// parser that reads weights files, plus a CRC-32C of the tensor bytes. Leaves out
// compression and any dtype other than F32 and I64.
//
//   elarin::brain::BusMessage m;
//   m.kind = "ports"; m.source = "thalamus"; m.tick = 12;
//   m.tensors["fused"] = torch::zeros({512});
//   std::string wire = elarin::brain::encode_message(m);
//   auto back = elarin::brain::decode_message(wire.data(), wire.size());  // or FormatError
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace elarin::brain {

// `bus.version` of the messages this build writes and reads.
inline constexpr int kBusVersion = 1;
// Bounds on what a message may hold: a malformed or hostile message cannot make a region
// allocate more than this.
inline constexpr size_t kBusMaxMessageBytes = 64u << 20;
inline constexpr size_t kBusMaxTensors = 64;

// The message kinds (`bus.kind`): a table, so an unknown kind is rejected by name.
const std::vector<std::string>& bus_message_kinds();

struct BusMessage {
  std::string kind = "ports";  // bus.kind: one of bus_message_kinds()
  std::string source;          // bus.source: the sending region ("env" for the world)
  int64_t tick = 0;            // bus.tick: the tick this message belongs to, >= 0
  // Further dotted keys, e.g. "reward.value" = "1". Keys under "bus." are reserved.
  std::map<std::string, std::string> header;
  // Named tensors (an output port's name -> its value), F32 or I64, finite, CPU.
  std::map<std::string, torch::Tensor> tensors;
};

// Serialises `m`. Throws UsageError for what decode_message would reject (empty source,
// bad kind, reserved key, unsupported dtype, non-finite value).
std::string encode_message(const BusMessage& m);

// Parses and validates a whole message. Throws FormatError naming the defect: not a
// safetensors buffer, missing or bad `bus.*` key, wrong version, CRC mismatch, dtype,
// non-finite value, over the size bounds.
BusMessage decode_message(const void* data, size_t size);

// Counts of what a receiver saw: malformed messages are counted and dropped, never fatal.
struct BusStats {
  int64_t received = 0;    // well-formed messages accepted
  int64_t rejected = 0;    // malformed messages dropped
  std::string last_error;  // the most recent rejection's reason
};

}  // namespace elarin::brain
