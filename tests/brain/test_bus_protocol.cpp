// The bus protocol: a tick's context and the neuromodulators travel as header text and read
// back bit for bit (what makes in-process and ZeroMQ outputs identical); bad values, unknown
// ops and an op in the wrong bus.kind are FormatErrors naming the key.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "brain/bus_protocol.hpp"
#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {

using namespace elarin::brain;
using elarin::FormatError;
using elarin::test::error_message;

TEST(BusProtocol, ContextAndNeuromodulatorsReadBackBitForBit) {
  for (double v : {0.1, 1.0 / 3.0, -2.5e-310, 6.02214076e23, -0.0, 0.9999999999999999}) {
    TickContext ctx;
    ctx.tick = 123456789012;
    ctx.seed = 0xfedcba9876543210ull;  // above INT64_MAX: must stay unsigned
    ctx.temperature = v;
    BusMessage m = bus::message(bus::Op::kTick, "corpus_callosum", 0, 5);
    bus::put_context(m, ctx);
    // Through the wire, as a region receives it.
    const std::string wire = encode_message(m);
    const BusMessage back = decode_message(wire.data(), wire.size());
    const TickContext got = bus::get_context(back);
    EXPECT_EQ(got.tick, ctx.tick);
    EXPECT_EQ(got.seed, ctx.seed);
    EXPECT_EQ(std::signbit(got.temperature), std::signbit(v));
    EXPECT_EQ(got.temperature, v) << bus::exact(v);
    EXPECT_EQ(bus::op_of(back), bus::Op::kTick);
    EXPECT_EQ(bus::id_of(back), 5);

    Neuromodulators n;
    n.tick = 77;
    n.reward = -1;
    n.dopamine = v;
    n.temperature = v * 3;
    n.treat = true;
    n.action = 9;
    n.expected = -v;
    BusMessage r = bus::message(bus::Op::kLearn, "corpus_callosum", 77);
    bus::put_modulators(r, n);
    const Neuromodulators g = bus::get_modulators(r);
    EXPECT_EQ(g.dopamine, n.dopamine);
    EXPECT_EQ(g.temperature, n.temperature);
    EXPECT_EQ(g.expected, n.expected);
    EXPECT_EQ(g.treat, true);
    EXPECT_EQ(g.action, 9);
    EXPECT_EQ(g.tick, 77);
  }
}

TEST(BusProtocol, BadValuesAreFormatErrorsNamingTheKey) {
  BusMessage m = bus::message(bus::Op::kTick, "corpus_callosum", 0);
  bus::put_context(m, TickContext{});
  auto fails = [&](const std::string& key, const std::string& value, const std::string& what) {
    BusMessage b = m;
    b.header[key] = value;
    const auto msg = error_message<FormatError>([&] {
      bus::op_of(b);
      bus::id_of(b);
      bus::get_context(b);
    });
    EXPECT_NE(msg.find(what), std::string::npos) << key << "=" << value << ": " << msg;
  };
  fails("tick.seed", "-1", "tick.seed '-1' is not an unsigned integer");
  fails("tick.seed", "12x", "tick.seed");
  fails("tick.temperature", "nan", "tick.temperature 'nan' is not a finite number");
  fails("tick.temperature", " 1", "tick.temperature");
  fails("tick.temperature", "", "tick.temperature");
  fails("req.id", "seven", "req.id 'seven' is not an integer");
  fails("req.op", "explode", "unknown req.op 'explode': expected one of hello, tick, learn");
  BusMessage wrong_kind = m;
  wrong_kind.kind = "control";
  EXPECT_NE(error_message<FormatError>([&] {
              bus::op_of(wrong_kind);
            }).find("op tick travels as bus.kind ports, not control"),
            std::string::npos);
  BusMessage none = m;
  none.header.erase("tick.seed");
  EXPECT_NE(
      error_message<FormatError>([&] { bus::get_context(none); }).find("header has no 'tick.seed'"),
      std::string::npos);
}

TEST(BusProtocol, PortSpecsRoundTripAndRejectBadText) {
  const std::vector<PortSpec> specs = {{"vision", 128}, {"emitted", 10}};
  const auto back = bus::parse_specs(bus::specs_text(specs));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].name, "vision");
  EXPECT_EQ(back[1].size, 10);
  EXPECT_TRUE(bus::parse_specs("").empty());
  for (const char* bad : {"vision", "vision=0", "=4", "a=1,b=x", "a=-3"})
    EXPECT_THROW(bus::parse_specs(bad), FormatError) << bad;
}

}  // namespace
