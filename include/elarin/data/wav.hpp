// 16-bit PCM mono WAV reading and writing. Leaves out resampling (see data/speech.hpp),
// other sample formats and multi-channel audio, which are rejected with a clear message.
//
//   elarin::Wav w = elarin::read_wav("word.wav", /*expected_rate=*/16000);
//   torch::Tensor x = w.samples;  // (T) float32 in [-1, 1)
//   elarin::write_wav("copy.wav", x, 16000);
#pragma once

#include <torch/types.h>

#include <string>

namespace elarin {

struct Wav {
  torch::Tensor samples;  // (T) float32, int16 / 32768
  int sample_rate = 0;    // Hz
};

// Reads a RIFF/WAVE file. Chunks other than "fmt " and "data" (LIST, fact, ...) are
// skipped; WAVE_FORMAT_EXTENSIBLE is accepted when its sub-format is PCM. Throws
// FormatError naming the file for: not RIFF/WAVE, truncated chunks, no fmt or data chunk,
// non-PCM, more than one channel, a bit depth other than 16, and, when `expected_rate` > 0,
// a sample rate other than it.
Wav read_wav(const std::string& path, int expected_rate = 0);
// The same from a WAV file's bytes (an upload); `where` names it in errors.
Wav decode_wav(const std::string& bytes, const std::string& where, int expected_rate = 0);

// Writes `samples` (T) as 16-bit PCM mono at `sample_rate` Hz, atomically. Values are
// clamped to [-1, 1] and scaled by 32767 (so -1 and 1 both survive the round trip).
void write_wav(const std::string& path, const torch::Tensor& samples, int sample_rate);

}  // namespace elarin
