// Bus messages: a round trip keeps every key and tensor bit for bit; each kind of defect is
// rejected with a FormatError that names it; 10,000 mutated messages are rejected and
// counted, never crash, and nothing but FormatError escapes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "core/crc32c.hpp"
#include "elarin/brain/message.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"

namespace {

using elarin::FormatError;
using elarin::brain::BusMessage;
using elarin::brain::decode_message;
using elarin::brain::encode_message;

BusMessage sample() {
  torch::manual_seed(3);
  BusMessage m;
  m.kind = "ports";
  m.source = "thalamus";
  m.tick = 1234567;
  m.header["reward.value"] = "-1";
  m.tensors["fused"] = torch::randn({512});
  m.tensors["ids"] = torch::tensor(std::vector<int64_t>{3, -7, int64_t(1) << 40});
  return m;
}

// Expects decode to throw a FormatError whose message contains `what`.
void expect_rejected(const std::string& bytes, const std::string& what) {
  try {
    decode_message(bytes.data(), bytes.size());
    FAIL() << "accepted a message that should fail with '" << what << "'";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

// A safetensors buffer with the given metadata and a correct CRC: what a peer built by hand.
std::string hand_made(std::map<std::string, std::string> meta,
                      const std::map<std::string, torch::Tensor>& tensors) {
  meta["bus.crc32c"] = "00000000";
  std::string b = elarin::safetensors_bytes(tensors, meta);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(b[i]);
  meta["bus.crc32c"] = elarin::crc32c_hex(std::string_view(b).substr(8 + n));
  return elarin::safetensors_bytes(tensors, meta);
}

std::map<std::string, std::string> good_meta() {
  return {{"bus.version", "1"}, {"bus.kind", "ports"}, {"bus.source", "pfc"}, {"bus.tick", "5"}};
}

TEST(BusMessage, RoundTripKeepsEveryKeyAndTensorBitForBit) {
  const BusMessage m = sample();
  const std::string wire = encode_message(m);
  const BusMessage back = decode_message(wire.data(), wire.size());
  EXPECT_EQ(back.kind, m.kind);
  EXPECT_EQ(back.source, m.source);
  EXPECT_EQ(back.tick, m.tick);
  EXPECT_EQ(back.header, m.header);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_TRUE(torch::equal(back.tensors.at("fused"), m.tensors.at("fused")));
  EXPECT_TRUE(torch::equal(back.tensors.at("ids"), m.tensors.at("ids")));
  EXPECT_EQ(encode_message(back), wire);  // deterministic bytes
}

TEST(BusMessage, EachDefectIsRejectedByName) {
  const std::string wire = encode_message(sample());
  expect_rejected(wire.substr(0, wire.size() - 3), "bus message");  // truncated
  std::string flipped = wire;
  flipped[flipped.size() - 5] ^= 0x40;  // a tensor byte: the CRC catches it
  expect_rejected(flipped, "bus.crc32c");
  auto meta = good_meta();
  meta["bus.version"] = "2";
  expect_rejected(hand_made(meta, {}), "bus.version '2'");
  meta = good_meta();
  meta.erase("bus.tick");
  expect_rejected(hand_made(meta, {}), "no 'bus.tick'");
  meta = good_meta();
  meta["bus.tick"] = "-4";
  expect_rejected(hand_made(meta, {}), "bus.tick '-4'");
  meta = good_meta();
  meta["bus.kind"] = "gossip";
  expect_rejected(hand_made(meta, {}), "unknown bus.kind 'gossip'");
  meta = good_meta();
  meta["bus.source"] = "../etc";
  expect_rejected(hand_made(meta, {}), "bus.source '../etc'");
  expect_rejected(hand_made(good_meta(), {{"x", torch::tensor({1.0f, NAN})}}), "non-finite");
  expect_rejected(hand_made(good_meta(), {{"x", torch::ones({2}, torch::kInt)}}), "dtype I32");
  expect_rejected(
      hand_made(good_meta(), {{"x", torch::tensor({1.0, double(NAN)}, torch::kDouble)}}),
      "non-finite");
  EXPECT_NO_THROW(decode_message(hand_made(good_meta(), {{"x", torch::ones({2})}}).data(),
                                 hand_made(good_meta(), {{"x", torch::ones({2})}}).size()));
}

TEST(BusMessage, EncodeRefusesWhatDecodeWouldReject) {
  BusMessage m = sample();
  m.header["bus.tick"] = "9";
  EXPECT_THROW(encode_message(m), elarin::UsageError);
  m = sample();
  m.source = "";
  EXPECT_THROW(encode_message(m), elarin::UsageError);
  m = sample();
  m.tensors["fused"][3] = INFINITY;
  EXPECT_THROW(encode_message(m), elarin::UsageError);
  m = sample();
  m.tensors["count"] = torch::ones({2}, torch::kInt);
  EXPECT_THROW(encode_message(m), elarin::UsageError);
}

// Region state travels too (RemoteRegion::state): float64 counters and rates arrive exactly.
TEST(BusMessage, Float64StateTravelsBitForBit) {
  BusMessage m = sample();
  m.tensors["reward_rate"] = torch::tensor({0.1 + 0.2, 1.0 / 3.0}, torch::kDouble);
  const std::string wire = encode_message(m);
  const BusMessage back = decode_message(wire.data(), wire.size());
  ASSERT_EQ(back.tensors.at("reward_rate").scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(back.tensors.at("reward_rate"), m.tensors.at("reward_rate")));
}

TEST(BusMessage, TenThousandMutatedMessagesAreRejectedAndCounted) {
  const std::string wire = encode_message(sample());
  std::mt19937 rng(11);
  elarin::brain::BusStats stats;
  int other_exceptions = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string bad = wire;
    switch (i % 4) {
      case 0:  // one to four random byte flips anywhere
        for (int f = 0, n = 1 + int(rng() % 4); f < n; ++f)
          bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 1:  // truncated
        bad.resize(rng() % bad.size());
        break;
      case 2:  // random garbage of random length
        bad.assign(rng() % 4096, '\0');
        for (auto& c : bad) c = static_cast<char>(rng());
        break;
      default:  // a corrupted header length (the first 8 bytes)
        bad[rng() % 8] ^= static_cast<char>(1 + rng() % 255);
    }
    try {
      decode_message(bad.data(), bad.size());
      ++stats.received;
    } catch (const FormatError& e) {
      ++stats.rejected;
      stats.last_error = e.what();
    } catch (...) {
      ++other_exceptions;
    }
  }
  EXPECT_EQ(other_exceptions, 0);
  EXPECT_EQ(stats.received + stats.rejected, 10000);
  // A flip inside a JSON string's padding can leave a valid message; almost none survive.
  EXPECT_GE(stats.rejected, 9900) << stats.last_error;
}

}  // namespace
