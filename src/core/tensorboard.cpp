// TensorBoard event file writer: protobuf wire format and TFRecord framing by hand, so the
// project needs no protobuf compiler or TensorFlow. Leaves out every non-scalar summary.
#include "elarin/core/tensorboard.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/crc32c.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_key(std::string& out, uint32_t field, uint32_t wire_type) {
  put_varint(out, (uint64_t{field} << 3) | wire_type);
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void put_double(std::string& out, uint32_t field, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  put_key(out, field, kFixed64);
  put_le(out, bits, 8);
}

void put_float(std::string& out, uint32_t field, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  put_key(out, field, kFixed32);
  put_le(out, bits, 4);
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

void append_tfrecord(std::string& out, std::string_view data) {
  std::string header;
  put_le(header, data.size(), 8);
  out += header;
  put_le(out, masked_crc32c(crc32c(header)), 4);
  out.append(data);
  put_le(out, masked_crc32c(crc32c(data)), 4);
}

std::string encode_file_version_event(double wall_time, std::string_view version) {
  std::string ev;
  put_double(ev, 1, wall_time);
  put_bytes(ev, 3, version);
  return ev;
}

std::string encode_scalars_event(double wall_time, int64_t step,
                                 const std::vector<std::pair<std::string, double>>& values) {
  std::string summary, value;
  for (const auto& [tag, v] : values) {
    value.clear();
    put_bytes(value, 1, tag);
    put_float(value, 2, static_cast<float>(v));
    put_bytes(summary, 1, value);
  }
  std::string ev;
  put_double(ev, 1, wall_time);
  // proto3 leaves a zero scalar out; readers treat a missing step as 0 either way.
  if (step != 0) {
    put_key(ev, 2, kVarint);
    put_varint(ev, static_cast<uint64_t>(step));  // negative int64: 10-byte two's complement
  }
  put_bytes(ev, 5, summary);
  return ev;
}

TensorBoardWriter::TensorBoardWriter(const std::string& logdir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(logdir, ec);
  if (ec) throw Error("cannot create TensorBoard directory '" + logdir + "': " + ec.message());
  const std::string base =
      (fs::path(logdir) /
       ("events.out.tfevents." + std::to_string(static_cast<int64_t>(unix_now())) + "." +
        host_name() + "." + std::to_string(::getpid()) + ".elarin"))
          .string();
  // "x": fail if the file exists, so two writers started in the same second never share
  // (and truncate) one file.
  for (int i = 0; file_ == nullptr; ++i) {
    path_ = i == 0 ? base : base + "." + std::to_string(i);
    file_ = std::fopen(path_.c_str(), "wbx");
    if (file_ == nullptr && (errno != EEXIST || i >= 1000)) {
      throw Error("cannot create TensorBoard event file '" + path_ + "': " + errno_message(errno));
    }
  }
  try {
    write_event(encode_file_version_event(unix_now(), "brain.Event:2"));
  } catch (...) {
    std::fclose(file_);  // no destructor runs for a throwing constructor
    throw;
  }
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::add_scalar(std::string_view tag, double value, int64_t step) {
  one_.resize(1);
  one_[0].first.assign(tag);
  one_[0].second = value;
  add_scalars(step, one_);
}

void TensorBoardWriter::add_scalars(int64_t step,
                                    const std::vector<std::pair<std::string, double>>& values) {
  if (values.empty()) return;
  for (const auto& kv : values) {
    if (kv.first.empty()) throw Error("TensorBoard scalar with an empty tag in " + path_);
  }
  write_event(encode_scalars_event(unix_now(), step, values));
}

void TensorBoardWriter::write_event(std::string_view event) {
  record_.clear();
  append_tfrecord(record_, event);
  if (std::fwrite(record_.data(), 1, record_.size(), file_) != record_.size() ||
      std::fflush(file_) != 0) {
    throw Error("cannot write TensorBoard event file '" + path_ + "': " + errno_message(errno));
  }
}

}  // namespace elarin
