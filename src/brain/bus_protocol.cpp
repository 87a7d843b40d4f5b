// The bus protocol's ops and header codecs (see the header).
#include "brain/bus_protocol.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"

namespace elarin::brain::bus {
namespace {

struct OpRow {
  Op op;
  const char* name;
  const char* kind;
};
constexpr OpRow kOps[] = {
    {Op::kHello, "hello", "control"},
    {Op::kTick, "tick", "ports"},
    {Op::kLearn, "learn", "reward"},
    {Op::kNeuromodulate, "neuromodulate", "reward"},
    {Op::kRestore, "restore", "control"},
    {Op::kPersist, "persist", "control"},
    {Op::kState, "state", "control"},
    {Op::kLoadState, "load_state", "control"},
    {Op::kInitialise, "initialise", "control"},
    {Op::kDevelop, "develop", "control"},
    {Op::kStats, "stats", "control"},
    {Op::kStop, "stop", "control"},
};

const OpRow& row(Op op) {
  for (const auto& r : kOps)
    if (r.op == op) return r;
  throw Error("bus: op without a table row");
}

[[noreturn]] void bad(const std::string& key, const std::string& text, const char* want) {
  throw FormatError("bus message: " + key + " '" + text + "' is not " + want);
}

}  // namespace

const char* op_name(Op op) { return row(op).name; }
const char* op_kind(Op op) { return row(op).kind; }

Op parse_op(const std::string& name) {
  if (const auto* r = try_find_named(kOps, name)) return r->op;
  throw FormatError("bus message: " + unknown_name_message("req.op", name, names_of(kOps)));
}

BusMessage message(Op op, const std::string& source, int64_t tick, int64_t id) {
  BusMessage m;
  m.kind = op_kind(op);
  m.source = source;
  m.tick = tick;
  m.header[kOpKey] = op_name(op);
  m.header[kIdKey] = std::to_string(id);
  return m;
}

std::string get(const BusMessage& m, const std::string& key) {
  auto it = m.header.find(key);
  if (it == m.header.end()) throw FormatError("bus message: header has no '" + key + "'");
  return it->second;
}

Op op_of(const BusMessage& m) {
  const Op op = parse_op(get(m, kOpKey));
  if (m.kind != op_kind(op))
    throw FormatError("bus message: op " + std::string(op_name(op)) + " travels as bus.kind " +
                      op_kind(op) + ", not " + m.kind);
  return op;
}

int64_t id_of(const BusMessage& m) { return get_int(m, kIdKey); }

int64_t get_int(const BusMessage& m, const std::string& key) {
  const std::string s = get(m, key);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0' || std::isspace(static_cast<unsigned char>(s[0])))
    bad(key, s, "an integer");
  return v;
}

uint64_t get_uint(const BusMessage& m, const std::string& key) {
  const std::string s = get(m, key);
  if (s.empty() || s[0] < '0' || s[0] > '9') bad(key, s, "an unsigned integer");
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') bad(key, s, "an unsigned integer");
  return v;
}

double get_double(const BusMessage& m, const std::string& key) {
  const std::string s = get(m, key);
  // errno is not read: glibc sets ERANGE for subnormal results, which exact() can write;
  // an overflow reads as infinity and fails isfinite.
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v) ||
      std::isspace(static_cast<unsigned char>(s[0])))
    bad(key, s, "a finite number");
  return v;
}

std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void put_context(BusMessage& m, const TickContext& ctx) {
  m.tick = ctx.tick;
  m.header["tick.seed"] = std::to_string(ctx.seed);
  m.header["tick.temperature"] = exact(ctx.temperature);
}

TickContext get_context(const BusMessage& m) {
  TickContext ctx;
  ctx.tick = m.tick;
  ctx.seed = get_uint(m, "tick.seed");
  ctx.temperature = get_double(m, "tick.temperature");
  return ctx;
}

void put_modulators(BusMessage& m, const Neuromodulators& n) {
  m.header["neuro.tick"] = std::to_string(n.tick);
  m.header["neuro.reward"] = exact(n.reward);
  m.header["neuro.dopamine"] = exact(n.dopamine);
  m.header["neuro.temperature"] = exact(n.temperature);
  m.header["neuro.treat"] = n.treat ? "1" : "0";
  m.header["neuro.action"] = std::to_string(n.action);
  m.header["neuro.expected"] = exact(n.expected);
  m.header["neuro.delay_s"] = exact(n.delay_s);
}

Neuromodulators get_modulators(const BusMessage& m) {
  Neuromodulators n;
  n.tick = get_int(m, "neuro.tick");
  n.reward = get_double(m, "neuro.reward");
  n.dopamine = get_double(m, "neuro.dopamine");
  n.temperature = get_double(m, "neuro.temperature");
  const std::string treat = get(m, "neuro.treat");
  if (treat != "0" && treat != "1") bad("neuro.treat", treat, "0 or 1");
  n.treat = treat == "1";
  n.action = get_int(m, "neuro.action");
  n.expected = get_double(m, "neuro.expected");
  n.delay_s = get_double(m, "neuro.delay_s");
  return n;
}

std::string specs_text(const std::vector<PortSpec>& specs) {
  std::string s;
  for (const auto& p : specs) s += (s.empty() ? "" : ",") + p.name + "=" + std::to_string(p.size);
  return s;
}

std::vector<PortSpec> parse_specs(const std::string& text) {
  std::vector<PortSpec> specs;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    const auto eq = item.find('=');
    char* end = nullptr;
    const long long size =
        eq == std::string::npos ? 0 : std::strtoll(item.c_str() + eq + 1, &end, 10);
    if (eq == std::string::npos || eq == 0 || size <= 0 || *end != '\0')
      throw FormatError("bus message: port spec '" + item + "', expected name=size");
    specs.push_back({item.substr(0, eq), size});
    start = comma + 1;
  }
  return specs;
}

}  // namespace elarin::brain::bus
