// WAV: 16-bit round trip, extra RIFF chunks, and a clear rejection of each unsupported file.
#include "elarin/data/wav.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {
namespace fs = std::filesystem;

using elarin::test::TempDir;

std::string le(uint32_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s += char((v >> (8 * i)) & 0xFF);
  return s;
}

std::string chunk(const std::string& id, const std::string& body) {
  std::string s = id + le(uint32_t(body.size()), 4) + body;
  if (body.size() % 2) s += '\0';
  return s;
}

std::string fmt_body(int tag, int channels, int rate, int bits) {
  const int align = channels * bits / 8;
  return le(tag, 2) + le(channels, 2) + le(rate, 4) + le(rate * align, 4) + le(align, 2) +
         le(bits, 2);
}

std::string riff(const std::string& chunks) {
  return "RIFF" + le(uint32_t(4 + chunks.size()), 4) + "WAVE" + chunks;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

template <class F>
std::string format_error(F fn) {
  return elarin::test::error_message<elarin::FormatError>(fn);
}

TEST(DataWav, RoundTripIsWithinOneQuantum) {
  TempDir dir;
  const std::string path = dir.path + "/sine.wav";
  auto t = torch::arange(1600, torch::kFloat32) / 16000.0;
  auto x = 0.8 * torch::sin(2 * M_PI * 440.0 * t);  // (1600)
  elarin::write_wav(path, x, 16000);
  EXPECT_EQ(fs::file_size(path), 44u + 2 * 1600);
  elarin::Wav w = elarin::read_wav(path, 16000);
  EXPECT_EQ(w.sample_rate, 16000);
  ASSERT_EQ(w.samples.numel(), 1600);
  const float diff = (w.samples - x).abs().max().item<float>();
  std::printf("wav round trip max |diff| = %.3g\n", diff);
  EXPECT_LT(diff, 1.5f / 32767);
  // Full scale is clamped, not wrapped.
  elarin::write_wav(path, torch::tensor({1.5f, -1.5f}), 8000);
  auto clipped = elarin::read_wav(path).samples;
  EXPECT_NEAR(clipped[0].item<float>(), 32767.0f / 32768, 1e-6);
  EXPECT_NEAR(clipped[1].item<float>(), -32767.0f / 32768, 1e-6);
}

TEST(DataWav, SkipsExtraChunksIncludingOddSizedOnes) {
  TempDir dir;
  const std::string path = dir.path + "/chunks.wav";
  const std::string samples = le(1000, 2) + le(uint16_t(-2000), 2) + le(3, 2);
  write(path, riff(chunk("LIST", "odd") + chunk("fmt ", fmt_body(1, 1, 16000, 16)) +
                   chunk("fact", "1234") + chunk("data", samples) + chunk("id3 ", "x")));
  auto w = elarin::read_wav(path);
  ASSERT_EQ(w.samples.numel(), 3);
  EXPECT_FLOAT_EQ(w.samples[0].item<float>(), 1000.0f / 32768);
  EXPECT_FLOAT_EQ(w.samples[1].item<float>(), -2000.0f / 32768);
}

TEST(DataWav, RejectsUnsupportedFilesByName) {
  TempDir dir;
  const std::string p = dir.path + "/x.wav";
  const std::string pcm = chunk("data", std::string(8, '\0'));
  write(p, riff(chunk("fmt ", fmt_body(1, 2, 16000, 16)) + pcm));
  EXPECT_NE(format_error([&] { elarin::read_wav(p); }).find("2 channels, expected mono"),
            std::string::npos);
  write(p, riff(chunk("fmt ", fmt_body(1, 1, 16000, 8)) + pcm));
  EXPECT_NE(format_error([&] { elarin::read_wav(p); }).find("8-bit samples"), std::string::npos);
  write(p, riff(chunk("fmt ", fmt_body(3, 1, 16000, 32)) + pcm));
  EXPECT_NE(format_error([&] { elarin::read_wav(p); }).find("IEEE float audio"), std::string::npos);
  write(p, riff(chunk("fmt ", fmt_body(1, 1, 22050, 16)) + pcm));
  std::string msg = format_error([&] { elarin::read_wav(p, 16000); });
  EXPECT_NE(msg.find("sample rate 22050 Hz, expected 16000 Hz"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_EQ(elarin::read_wav(p).sample_rate, 22050);  // no expectation: accepted
  write(p, "RIFX" + std::string(40, '\0'));
  EXPECT_NE(format_error([&] { elarin::read_wav(p); }).find("not a RIFF/WAVE"), std::string::npos);
  // A data chunk that claims more bytes than the file holds.
  write(p, riff(chunk("fmt ", fmt_body(1, 1, 16000, 16)) + "data" + le(1000, 4) + "ab"));
  EXPECT_NE(format_error([&] { elarin::read_wav(p); }).find("truncated"), std::string::npos);
  write(p, riff(chunk("fmt ", fmt_body(1, 1, 16000, 16))));
  EXPECT_NE(format_error([&] { elarin::read_wav(p); }).find("no 'data' chunk"), std::string::npos);
  EXPECT_THROW(elarin::write_wav(p, torch::zeros({4}), 0), elarin::UsageError);
}

}  // namespace
