// TensorBoard event files, read back by a minimal TFRecord + protobuf reader written here
// (its own bitwise CRC), so the writer's encoder is not checked against itself.
#include "elarin/core/tensorboard.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;

using elarin::test::fresh_dir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- independent reader -------------------------------------------------------------------

uint32_t bitwise_crc32c(std::string_view s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char byte : s) {
    c ^= byte;
    for (int i = 0; i < 8; ++i) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint64_t le(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(s[pos + i])} << (8 * i);
  return v;
}

// Splits a TFRecord file into payloads; throws std::runtime_error on a bad length or CRC.
std::vector<std::string> read_records(const std::string& file) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < file.size()) {
    if (file.size() - pos < 12) throw std::runtime_error("truncated header");
    const uint64_t len = le(file, pos, 8);
    if (le(file, pos + 8, 4) != mask(bitwise_crc32c(file.substr(pos, 8)))) {
      throw std::runtime_error("length crc mismatch");
    }
    if (file.size() - pos - 12 < len + 4) throw std::runtime_error("truncated record");
    std::string data = file.substr(pos + 12, len);
    if (le(file, pos + 12 + len, 4) != mask(bitwise_crc32c(data))) {
      throw std::runtime_error("data crc mismatch");
    }
    out.push_back(std::move(data));
    pos += 12 + len + 4;
  }
  return out;
}

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;  // wire 0; the raw bits for wire 1 and 5
  std::string bytes;    // wire 2
};

std::vector<Field> parse_message(std::string_view m) {
  std::vector<Field> fields;
  size_t pos = 0;
  auto varint = [&]() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      if (pos >= m.size() || shift > 63) throw std::runtime_error("bad varint");
      const auto b = static_cast<unsigned char>(m[pos++]);
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < m.size()) {
    const uint64_t key = varint();
    Field f;
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire = static_cast<uint32_t>(key & 7);
    if (f.wire == 0) {
      f.varint = varint();
    } else if (f.wire == 1 || f.wire == 5) {
      const int n = f.wire == 1 ? 8 : 4;
      if (pos + n > m.size()) throw std::runtime_error("truncated fixed field");
      f.varint = le(m, pos, n);
      pos += n;
    } else if (f.wire == 2) {
      const uint64_t n = varint();
      if (n > m.size() - pos) throw std::runtime_error("truncated bytes field");
      f.bytes = std::string(m.substr(pos, n));
      pos += n;
    } else {
      throw std::runtime_error("unexpected wire type");
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

struct Scalar {
  std::string tag;
  float value;
};

struct Event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<Scalar> scalars;
};

Event decode_event(const std::string& data) {
  Event ev;
  for (const Field& f : parse_message(data)) {
    if (f.number == 1 && f.wire == 1) {
      std::memcpy(&ev.wall_time, &f.varint, 8);
    } else if (f.number == 2 && f.wire == 0) {
      ev.step = static_cast<int64_t>(f.varint);
    } else if (f.number == 3 && f.wire == 2) {
      ev.file_version = f.bytes;
    } else if (f.number == 5 && f.wire == 2) {
      for (const Field& v : parse_message(f.bytes)) {
        if (v.number != 1 || v.wire != 2) throw std::runtime_error("unexpected Summary field");
        Scalar s{};
        bool has_value = false;
        for (const Field& x : parse_message(v.bytes)) {
          if (x.number == 1 && x.wire == 2) s.tag = x.bytes;
          if (x.number == 2 && x.wire == 5) {
            const auto bits = static_cast<uint32_t>(x.varint);
            std::memcpy(&s.value, &bits, 4);
            has_value = true;
          }
        }
        if (!has_value) throw std::runtime_error("Value without simple_value");
        ev.scalars.push_back(s);
      }
    } else {
      throw std::runtime_error("unexpected Event field " + std::to_string(f.number));
    }
  }
  return ev;
}

std::vector<fs::path> event_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  return files;
}

// ---- tests --------------------------------------------------------------------------------

TEST(TensorBoard, EventFileReadsBackWithTagsStepsAndValues) {
  const fs::path dir = fresh_dir("tb_roundtrip");
  const double before = static_cast<double>(::time(nullptr)) - 1;
  std::string path;
  {
    elarin::TensorBoardWriter tb(dir.string());
    path = tb.path();
    tb.add_scalar("train/loss", 0.5, 0);
    tb.add_scalar("train/loss", 0.25, 1);
    tb.add_scalar("train/loss", -3.75, 1000000);
    tb.add_scalars(7, {{"test/acc", 0.96875}, {"test/loss", 1e-3}});
    tb.add_scalar("weird", 1.0, -5);
  }
  const std::string name = fs::path(path).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_NE(name.find(".elarin"), std::string::npos) << name;
  ASSERT_EQ(event_files(dir).size(), 1u);

  const auto records = read_records(slurp(path));
  ASSERT_EQ(records.size(), 6u);
  const Event first = decode_event(records[0]);
  EXPECT_EQ(first.file_version, "brain.Event:2");
  EXPECT_GE(first.wall_time, before);
  EXPECT_LE(first.wall_time, before + 120);
  EXPECT_TRUE(first.scalars.empty());

  std::vector<Event> ev;
  for (size_t i = 1; i < records.size(); ++i) ev.push_back(decode_event(records[i]));
  const int64_t steps[] = {0, 1, 1000000, 7, -5};
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].step, steps[i]) << "event " << i;
    EXPECT_GE(ev[i].wall_time, first.wall_time);
    EXPECT_TRUE(ev[i].file_version.empty());
  }
  ASSERT_EQ(ev[0].scalars.size(), 1u);
  EXPECT_EQ(ev[0].scalars[0].tag, "train/loss");
  EXPECT_EQ(ev[0].scalars[0].value, 0.5f);
  EXPECT_EQ(ev[1].scalars[0].value, 0.25f);
  EXPECT_EQ(ev[2].scalars[0].value, -3.75f);
  ASSERT_EQ(ev[3].scalars.size(), 2u);
  EXPECT_EQ(ev[3].scalars[0].tag, "test/acc");
  EXPECT_EQ(ev[3].scalars[0].value, 0.96875f);
  EXPECT_EQ(ev[3].scalars[1].tag, "test/loss");
  EXPECT_EQ(ev[3].scalars[1].value, 1e-3f);  // stored as float32, exactly the rounded double
  EXPECT_EQ(ev[4].scalars[0].tag, "weird");
  fs::remove_all(dir);
}

TEST(TensorBoard, CorruptedByteFailsTheCrcCheck) {
  const fs::path dir = fresh_dir("tb_corrupt");
  std::string path;
  {
    elarin::TensorBoardWriter tb(dir.string());
    path = tb.path();
    tb.add_scalar("loss", 0.5, 3);
  }
  const std::string good = slurp(path);
  ASSERT_EQ(read_records(good).size(), 2u);
  // Flip one bit in each part of the scalar record: length, length CRC, data, data CRC.
  const size_t second = 12 + le(good, 0, 8) + 4;  // start of the scalar record
  const uint64_t len = le(good, second, 8);
  for (size_t off : {second + 0, second + 9, second + 12 + len / 2, second + 12 + len + 1}) {
    std::string bad = good;
    bad[off] = static_cast<char>(bad[off] ^ 0x10);
    EXPECT_THROW(read_records(bad), std::runtime_error) << "flipped byte " << off;
  }
  fs::remove_all(dir);
}

TEST(TensorBoard, TwoWritersInOneSecondGetTwoFiles) {
  const fs::path dir = fresh_dir("tb_two");
  elarin::TensorBoardWriter a(dir.string());
  elarin::TensorBoardWriter b(dir.string());
  a.add_scalar("x", 1, 1);
  b.add_scalar("x", 2, 1);
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(event_files(dir).size(), 2u);
  for (const auto& p : {a.path(), b.path()}) {
    EXPECT_NE(fs::path(p).filename().string().find("tfevents"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(TensorBoard, EachEventIsOnDiskBeforeTheWriterCloses) {
  const fs::path dir = fresh_dir("tb_flush");
  elarin::TensorBoardWriter tb(dir.string());
  tb.add_scalar("loss", 2.0, 10);
  const auto records = read_records(slurp(tb.path()));  // writer still open
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(decode_event(records[1]).step, 10);
  fs::remove_all(dir);
}

TEST(TensorBoard, EncodesKnownBytes) {
  // Hand-assembled Event{wall_time=1.0, step=300, summary{value{tag="a", simple_value=1.0}}}.
  const std::string expected(
      "\x09\x00\x00\x00\x00\x00\x00\xf0\x3f"  // field 1, fixed64: 1.0
      "\x10\xac\x02"                          // field 2, varint: 300
      "\x2a\x0a"                              // field 5, 10 bytes
      "\x0a\x08"                              //   Summary.value, 8 bytes
      "\x0a\x01"                              //     tag, 1 byte
      "a"
      "\x15\x00\x00\x80\x3f",  //     simple_value, fixed32: 1.0f
      9 + 3 + 2 + 2 + 3 + 5);
  EXPECT_EQ(elarin::encode_scalars_event(1.0, 300, {{"a", 1.0}}), expected);
}

TEST(TensorBoard, UnwritableDirectoryThrowsNamingIt) {
  const fs::path dir = fresh_dir("tb_bad");
  fs::create_directories(dir.parent_path());
  std::ofstream(dir.string()) << "a file, not a directory";
  try {
    elarin::TensorBoardWriter tb((dir / "sub").string());
    FAIL() << "expected elarin::Error";
  } catch (const elarin::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
  }
  fs::remove(dir);
}

}  // namespace
