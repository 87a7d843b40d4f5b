// WAV (RIFF) parsing for 16-bit PCM mono and the matching writer.
// Leaves out 8/24/32-bit and float WAV: nothing in elarin produces them.
#include "elarin/data/wav.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "WAV samples are read in place as int16");

namespace elarin {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;

uint32_t le32(const unsigned char* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }

void put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s += char((v >> (8 * i)) & 0xFF);
}
void put16(std::string& s, uint16_t v) {
  s += char(v & 0xFF);
  s += char(v >> 8);
}

std::string format_name(uint16_t tag) {
  switch (tag) {
    case 3:
      return "IEEE float";
    case 6:
      return "A-law";
    case 7:
      return "mu-law";
    case 0x11:
      return "IMA ADPCM";
    case 0x55:
      return "MP3";
    default:
      return "format tag " + std::to_string(tag);
  }
}

}  // namespace

Wav read_wav(const std::string& path, int expected_rate) {
  if (!std::filesystem::exists(path)) throw Error("WAV file '" + path + "' not found");
  return decode_wav(read_file(path), "WAV file '" + path + "'", expected_rate);
}

Wav decode_wav(const std::string& bytes, const std::string& where, int expected_rate) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 12 || std::memcmp(p, "RIFF", 4) != 0 || std::memcmp(p + 8, "WAVE", 4) != 0) {
    throw FormatError(where + ": not a RIFF/WAVE file (expected 'RIFF....WAVE' at the start)");
  }
  bool have_fmt = false;
  uint16_t channels = 0, bits = 0;
  uint32_t rate = 0;
  const unsigned char* data = nullptr;
  size_t data_size = 0;
  size_t pos = 12;
  while (pos + 8 <= size) {
    const std::string id(reinterpret_cast<const char*>(p + pos), 4);
    uint64_t chunk = le32(p + pos + 4);
    const size_t body = pos + 8;
    // Streaming writers leave 0xFFFFFFFF for "until the end of the file" in the data size.
    if (id == "data" && chunk == 0xFFFFFFFFu) chunk = size - body;
    if (body + chunk > size) {
      throw FormatError(where + ": chunk '" + id + "' at byte " + std::to_string(pos) + " claims " +
                        std::to_string(chunk) + " bytes but only " + std::to_string(size - body) +
                        " remain (truncated file)");
    }
    if (id == "fmt ") {
      if (chunk < 16) {
        throw FormatError(where + ": fmt chunk of " + std::to_string(chunk) +
                          " bytes, expected at least 16");
      }
      uint16_t tag = le16(p + body);
      if (tag == kFormatExtensible) {
        // The sub-format GUID's first two bytes are the real format tag.
        if (chunk < 40) {
          throw FormatError(where + ": WAVE_FORMAT_EXTENSIBLE fmt chunk of " +
                            std::to_string(chunk) + " bytes, expected 40");
        }
        tag = le16(p + body + 24);
      }
      if (tag != kFormatPcm) {
        throw FormatError(
            where + ": " + format_name(tag) +
            " audio, expected 16-bit PCM (convert it, e.g. with ffmpeg -c:a pcm_s16le)");
      }
      channels = le16(p + body + 2);
      rate = le32(p + body + 4);
      bits = le16(p + body + 14);
      have_fmt = true;
    } else if (id == "data") {
      data = p + body;
      data_size = chunk;
    }
    pos = body + chunk + (chunk & 1);  // chunks are padded to even sizes
  }
  if (!have_fmt) throw FormatError(where + ": no 'fmt ' chunk");
  if (!data) throw FormatError(where + ": no 'data' chunk");
  if (channels != 1) {
    throw FormatError(where + ": " + std::to_string(channels) +
                      " channels, expected mono (1 channel)");
  }
  if (bits != 16) {
    throw FormatError(where + ": " + std::to_string(bits) + "-bit samples, expected 16-bit PCM");
  }
  if (rate == 0) throw FormatError(where + ": sample rate 0 Hz");
  if (expected_rate > 0 && rate != uint32_t(expected_rate)) {
    throw FormatError(where + ": sample rate " + std::to_string(rate) + " Hz, expected " +
                      std::to_string(expected_rate) + " Hz (resample it first)");
  }
  if (data_size % 2 != 0) {
    throw FormatError(where + ": data chunk of " + std::to_string(data_size) +
                      " bytes, expected a multiple of 2 (16-bit samples)");
  }
  Wav out;
  out.sample_rate = int(rate);
  auto pcm = torch::empty({int64_t(data_size / 2)}, torch::kInt16);  // (T)
  std::memcpy(pcm.data_ptr(), data, data_size);
  out.samples = pcm.to(torch::kFloat32).div_(32768.0f);
  return out;
}

void write_wav(const std::string& path, const torch::Tensor& samples, int sample_rate) {
  if (sample_rate <= 0) {
    throw UsageError("write_wav '" + path + "': sample rate " + std::to_string(sample_rate) +
                     ", expected a positive number of Hz");
  }
  TORCH_CHECK(samples.dim() == 1, "write_wav: samples must be (T), got ", samples.sizes());
  auto pcm = samples.detach()
                 .to(torch::kCPU, torch::kFloat32)
                 .clamp(-1.0, 1.0)
                 .mul(32767.0)
                 .round_()
                 .to(torch::kInt16)
                 .contiguous();  // (T)
  const uint64_t data_size = uint64_t(pcm.numel()) * 2;
  if (data_size + 36 > 0xFFFFFFFFu) {
    throw UsageError("write_wav '" + path + "': " + std::to_string(pcm.numel()) +
                     " samples do not fit a 4 GiB RIFF file");
  }
  std::string out;
  out.reserve(44 + data_size);
  out += "RIFF";
  put32(out, uint32_t(36 + data_size));
  out += "WAVEfmt ";
  put32(out, 16);
  put16(out, kFormatPcm);
  put16(out, 1);  // channels
  put32(out, uint32_t(sample_rate));
  put32(out, uint32_t(sample_rate) * 2);  // byte rate
  put16(out, 2);                          // block align
  put16(out, 16);                         // bits per sample
  out += "data";
  put32(out, uint32_t(data_size));
  out.append(reinterpret_cast<const char*>(pcm.data_ptr()), data_size);
  write_file_atomic(path, out);
}

}  // namespace elarin
