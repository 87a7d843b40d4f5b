// Bus messages as safetensors buffers with a `bus.*` header and a CRC (see the header).
#include "elarin/brain/message.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "core/crc32c.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"

namespace elarin::brain {
namespace {

constexpr const char* kVersionKey = "bus.version";
constexpr const char* kKindKey = "bus.kind";
constexpr const char* kSourceKey = "bus.source";
constexpr const char* kTickKey = "bus.tick";
constexpr const char* kCrcKey = "bus.crc32c";

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
}

bool known_kind(const std::string& k) {
  const auto& kinds = bus_message_kinds();
  return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

// A strict non-negative decimal: no sign, no spaces, at most 18 digits.
bool parse_tick(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

uint64_t header_length(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  return n;
}

}  // namespace

const std::vector<std::string>& bus_message_kinds() {
  // ports: a region's outputs for a tick; stimulus: what the world shows the senses;
  // reward: feedback from a critic or a person; control: start, stop, save.
  static const std::vector<std::string> kinds = {"ports", "stimulus", "reward", "control"};
  return kinds;
}

std::string encode_message(const BusMessage& m) {
  if (!valid_name(m.source))
    throw UsageError("bus message: source '" + m.source +
                     "' is not a region name (1-64 of a-z, 0-9, '_', '.')");
  if (!known_kind(m.kind)) throw UsageError("bus message: unknown kind '" + m.kind + "'");
  if (m.tick < 0) throw UsageError("bus message: tick " + std::to_string(m.tick) + " < 0");
  if (m.tensors.size() > kBusMaxTensors)
    throw UsageError("bus message: " + std::to_string(m.tensors.size()) + " tensors, at most " +
                     std::to_string(kBusMaxTensors));
  std::map<std::string, std::string> meta;
  for (const auto& [k, v] : m.header) {
    if (k.rfind("bus.", 0) == 0)
      throw UsageError("bus message: header key '" + k + "' is reserved (bus.*)");
    meta[k] = v;
  }
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [name, t] : m.tensors) {
    const auto type = t.scalar_type();
    if (type != torch::kFloat && type != torch::kDouble && type != torch::kLong)
      throw UsageError("bus message: tensor '" + name + "' has dtype " +
                       std::string(c10::toString(type)) + ", expected float32, float64 or int64");
    auto c = t.detach().to(torch::kCPU).contiguous();
    if (type != torch::kLong && c.numel() > 0 && !torch::isfinite(c).all().item<bool>())
      throw UsageError("bus message: tensor '" + name + "' holds a non-finite value");
    tensors[name] = c;
  }
  meta[kVersionKey] = std::to_string(kBusVersion);
  meta[kKindKey] = m.kind;
  meta[kSourceKey] = m.source;
  meta[kTickKey] = std::to_string(m.tick);
  meta[kCrcKey] = "00000000";  // same length as the real one: the layout does not move
  std::string bytes = safetensors_bytes(tensors, meta);
  const uint64_t data_start = 8 + header_length(bytes);
  meta[kCrcKey] = crc32c_hex(std::string_view(bytes).substr(data_start));
  bytes = safetensors_bytes(tensors, meta);
  if (bytes.size() > kBusMaxMessageBytes)
    throw UsageError("bus message: " + std::to_string(bytes.size()) + " bytes, at most " +
                     std::to_string(kBusMaxMessageBytes));
  return bytes;
}

BusMessage decode_message(const void* data, size_t size) {
  const std::string origin = "bus message";
  if (size > kBusMaxMessageBytes)
    throw FormatError(origin + ": " + std::to_string(size) + " bytes, at most " +
                      std::to_string(kBusMaxMessageBytes));
  const auto* bytes = static_cast<const uint8_t*>(data);
  const SafeTensorsHeader h = parse_safetensors_header(bytes, size, origin);
  auto need = [&](const char* key) -> const std::string& {
    auto it = h.metadata.find(key);
    if (it == h.metadata.end()) throw FormatError(origin + ": header has no '" + key + "'");
    return it->second;
  };
  const std::string& version = need(kVersionKey);
  if (version != std::to_string(kBusVersion))
    throw FormatError(origin + ": bus.version '" + version + "', this build reads " +
                      std::to_string(kBusVersion));
  BusMessage m;
  m.kind = need(kKindKey);
  if (!known_kind(m.kind)) throw FormatError(origin + ": unknown bus.kind '" + m.kind + "'");
  m.source = need(kSourceKey);
  if (!valid_name(m.source))
    throw FormatError(origin + ": bus.source '" + m.source + "' is not a region name");
  if (!parse_tick(need(kTickKey), &m.tick))
    throw FormatError(origin + ": bus.tick '" + need(kTickKey) + "' is not a tick number");
  const std::string want_crc = crc32c_hex(std::string_view(
      reinterpret_cast<const char*>(bytes) + h.data_start, static_cast<size_t>(h.data_size)));
  if (need(kCrcKey) != want_crc)
    throw FormatError(origin + ": bus.crc32c '" + need(kCrcKey) + "' but the tensor bytes give '" +
                      want_crc + "'");
  if (h.tensors.size() > kBusMaxTensors)
    throw FormatError(origin + ": " + std::to_string(h.tensors.size()) + " tensors, at most " +
                      std::to_string(kBusMaxTensors));
  for (const auto& [k, v] : h.metadata)
    if (k.rfind("bus.", 0) != 0) m.header[k] = v;
  for (const TensorInfo& info : h.tensors) {
    torch::ScalarType type;
    if (info.dtype == "F32")
      type = torch::kFloat;
    else if (info.dtype == "F64")  // region state (counters, running rates) travels too
      type = torch::kDouble;
    else if (info.dtype == "I64")
      type = torch::kLong;
    else
      throw FormatError(origin + ": tensor '" + info.name + "' has dtype " + info.dtype +
                        ", expected F32, F64 or I64");
    auto t = torch::empty(info.shape, torch::TensorOptions().dtype(type));
    std::memcpy(t.data_ptr(), bytes + h.data_start + info.begin,
                static_cast<size_t>(info.end - info.begin));
    if (type != torch::kLong && t.numel() > 0 && !torch::isfinite(t).all().item<bool>())
      throw FormatError(origin + ": tensor '" + info.name + "' holds a non-finite value");
    m.tensors[info.name] = t;
  }
  return m;
}

}  // namespace elarin::brain
