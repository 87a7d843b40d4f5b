// IDX reader: well-formed plain and gzip files of several dtypes, and each defect it must name.
#include "elarin/data/idx.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {
namespace fs = std::filesystem;

using elarin::test::TempDir;

// Header for `dtype` and `dims`, big-endian as the format says.
std::string idx_header(unsigned char dtype, const std::vector<uint32_t>& dims) {
  std::string s = {0, 0, char(dtype), char(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) s += char((d >> shift) & 0xFF);
  }
  return s;
}

void write_plain(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  gzclose(f);
}

template <class F>
std::string format_error(F fn) {
  return elarin::test::error_message<elarin::FormatError>(fn);
}

TEST(DataIdx, ReadsPlainUint8WithShape) {
  TempDir dir;
  const std::string path = dir.path + "/img.idx";
  std::string body;
  for (int i = 0; i < 12; ++i) body += char(i * 20);
  write_plain(path, idx_header(0x08, {3, 2, 2}) + body);
  torch::Tensor t = elarin::read_idx(path);
  ASSERT_EQ(t.scalar_type(), torch::kUInt8);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(t[2][1][0].item<int>(), 200);  // element 10
  EXPECT_EQ(t.sum().item<int64_t>(), 20 * 66);
}

TEST(DataIdx, ReadsGzipBigEndianInt32AndFloat32) {
  TempDir dir;
  // int32 0x01020304 and -5, stored big-endian: a missing byte swap gives 0x04030201.
  const std::string ints = std::string("\x01\x02\x03\x04", 4) + std::string("\xFF\xFF\xFF\xFB", 4);
  write_gz(dir.path + "/i.gz", idx_header(0x0C, {2}) + ints);
  torch::Tensor i = elarin::read_idx(dir.path + "/i.gz");
  ASSERT_EQ(i.scalar_type(), torch::kInt32);
  EXPECT_EQ(i[0].item<int32_t>(), 0x01020304);
  EXPECT_EQ(i[1].item<int32_t>(), -5);
  // float32 1.5 = 0x3FC00000 and -2 = 0xC0000000.
  const std::string floats =
      std::string("\x3F\xC0\x00\x00", 4) + std::string("\xC0\x00\x00\x00", 4);
  write_gz(dir.path + "/f.gz", idx_header(0x0D, {1, 2}) + floats);
  torch::Tensor f = elarin::read_idx(dir.path + "/f.gz");
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(f[0][0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(f[0][1].item<float>(), -2.0f);
}

TEST(DataIdx, WrongMagicNamesFileAndBytes) {
  TempDir dir;
  const std::string path = dir.path + "/bad-magic.gz";
  write_gz(path, std::string("\x01\x00\x08\x01\x00\x00\x00\x01\x07", 9));
  const std::string msg = format_error([&] { elarin::read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad magic"), std::string::npos) << msg;
}

TEST(DataIdx, UnknownDtypeIsRejected) {
  TempDir dir;
  const std::string path = dir.path + "/dtype.idx";
  write_plain(path, idx_header(0x0A, {1}) + "x");
  const std::string msg = format_error([&] { elarin::read_idx(path); });
  EXPECT_NE(msg.find("dtype byte 10"), std::string::npos) << msg;
}

TEST(DataIdx, TruncatedDataAndTrailingBytesNameTheCounts) {
  TempDir dir;
  const std::string short_path = dir.path + "/short.gz";
  write_gz(short_path, idx_header(0x08, {2, 28, 28}) + std::string(1000, '\0'));
  std::string msg = format_error([&] { elarin::read_idx(short_path); });
  EXPECT_NE(msg.find("2x28x28 need 1568"), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 1000 (truncated)"), std::string::npos) << msg;

  const std::string long_path = dir.path + "/long.idx";
  write_plain(long_path, idx_header(0x0B, {3}) + std::string(7, '\0'));  // int16: needs 6
  msg = format_error([&] { elarin::read_idx(long_path); });
  EXPECT_NE(msg.find("trailing"), std::string::npos) << msg;

  const std::string header_path = dir.path + "/header.idx";
  write_plain(header_path, std::string("\x00\x00\x08\x03\x00\x00", 6));
  msg = format_error([&] { elarin::read_idx(header_path); });
  EXPECT_NE(msg.find("truncated header"), std::string::npos) << msg;
}

TEST(DataIdx, CutGzipStreamIsFormatError) {
  TempDir dir;
  const std::string full = dir.path + "/full.gz";
  std::string body(20000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = char((i * 7919) % 251);  // incompressible-ish
  write_gz(full, idx_header(0x08, {20000}) + body);
  std::ifstream in(full, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(gz.size(), 100u);
  const std::string cut = dir.path + "/cut.gz";
  write_plain(cut, gz.substr(0, gz.size() / 2));
  EXPECT_THROW(elarin::read_idx(cut), elarin::FormatError);
}

TEST(DataIdx, MissingFileIsErrorNotFormatError) {
  try {
    elarin::read_idx("/nonexistent/elarin/x.gz");
    FAIL() << "expected elarin::Error";
  } catch (const elarin::FormatError&) {
    FAIL() << "a missing file is not a format defect";
  } catch (const elarin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/elarin/x.gz"), std::string::npos);
  }
}

}  // namespace
