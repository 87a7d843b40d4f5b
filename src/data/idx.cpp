// IDX reader through zlib's gzread, which also reads uncompressed files transparently.
// Leaves out memory mapping: the largest IDX file we read is 47 MB decompressed.
#include "elarin/data/idx.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "elarin/core/errors.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "IDX byte swapping assumes a little-endian host");

namespace elarin {
namespace {

// The whole decompressed content of `path`.
std::string read_gz_or_plain(const std::string& path) {
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    throw Error("cannot open IDX file '" + path +
                "': " + (errno ? errno_message(errno) : std::string("out of memory")));
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(f, &code);
      gzclose(f);
      throw FormatError("IDX file '" + path + "': corrupt gzip stream (" + why + ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  // A gzip member cut short reads as a clean EOF from gzread; gzerror still reports it.
  int code = Z_OK;
  std::string why = gzerror(f, &code);
  gzclose(f);
  if (code != Z_OK && code != Z_STREAM_END) {
    throw FormatError("IDX file '" + path + "': truncated or corrupt gzip stream (" + why + ")");
  }
  return out;
}

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  const std::string bytes = read_gz_or_plain(path);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4) {
    throw FormatError("IDX file '" + path + "': " + std::to_string(bytes.size()) +
                      " bytes, too short for the 4-byte magic");
  }
  if (p[0] != 0 || p[1] != 0) {
    throw FormatError("IDX file '" + path + "': bad magic (first two bytes are " +
                      std::to_string(p[0]) + ", " + std::to_string(p[1]) +
                      ", expected 0, 0); is it an IDX file?");
  }
  // The dtype byte of the IDX format and its element type.
  struct DtypeCode {
    unsigned char code;
    torch::ScalarType dtype;
  };
  static const DtypeCode kDtypes[] = {{0x08, torch::kUInt8},   {0x09, torch::kInt8},
                                      {0x0B, torch::kInt16},   {0x0C, torch::kInt32},
                                      {0x0D, torch::kFloat32}, {0x0E, torch::kFloat64}};
  const DtypeCode* found = nullptr;
  for (const auto& d : kDtypes) found = d.code == p[2] ? &d : found;
  if (!found) {
    throw FormatError("IDX file '" + path + "': unknown dtype byte " + std::to_string(p[2]) +
                      ", expected one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E");
  }
  const torch::ScalarType dtype = found->dtype;
  const auto elem_size = int64_t(c10::elementSize(dtype));
  const int rank = p[3];
  if (rank == 0) throw FormatError("IDX file '" + path + "': rank 0, expected at least 1");
  const size_t header = 4 + 4 * size_t(rank);
  if (bytes.size() < header) {
    throw FormatError("IDX file '" + path + "': truncated header: rank " + std::to_string(rank) +
                      " needs " + std::to_string(header) + " bytes, file has " +
                      std::to_string(bytes.size()));
  }
  std::vector<int64_t> dims(rank);
  std::string shape;
  uint64_t need = uint64_t(elem_size);  // data bytes the dims ask for
  bool overflow = false;
  for (int i = 0; i < rank; ++i) {
    dims[i] = big_endian_u32(p + 4 + 4 * i);
    shape += (i ? "x" : "") + std::to_string(dims[i]);
    overflow = overflow || __builtin_mul_overflow(need, uint64_t(dims[i]), &need);
  }
  const size_t have = bytes.size() - header;
  if (overflow || need != have) {
    throw FormatError(
        "IDX file '" + path + "': dims " + shape + " need " +
        (overflow ? std::string("more than 2^64") : std::to_string(need)) +
        " data bytes but the file has " + std::to_string(have) +
        (overflow || need > have ? " (truncated)" : " (trailing bytes after the data)"));
  }
  // Copy the raw bytes out, then swap to host order with a flip over the byte axis:
  // IDX stores multi-byte values big-endian and every host we build for is little-endian.
  auto raw = torch::empty({int64_t(have)}, torch::kUInt8);
  std::memcpy(raw.data_ptr(), bytes.data() + header, have);
  if (elem_size > 1) raw = raw.view({-1, elem_size}).flip({1}).contiguous().view({-1});
  return raw.view(dtype).view(dims);
}

}  // namespace elarin
