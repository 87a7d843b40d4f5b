// Spoken-word datasets synthesized with the `espeak-ng` program over voices, speeds and
// pitches, cached as 16 kHz WAV and turned into Whisper log-mel features.
// Leaves out recorded speech and sentence-level audio.
//
//   auto ds = elarin::generate_spoken_words({"yes", "no"}, "data/speech", /*variants=*/6);
//   ds.features;  // (12, 80, 120) float
//   ds.labels;    // (12) int64, index into ds.words
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace elarin {

// One way of saying a word: an espeak-ng voice (`-v`), speed in words per minute (`-s`) and
// pitch 0-99 (`-p`).
struct SpeechVariant {
  std::string voice;
  int speed = 175;
  int pitch = 50;
};

struct SpeechOptions {
  int64_t frames = 120;               // features per example: 10 ms each, audio padded/cropped
  int64_t n_mels = 80;                // 80 (Whisper v1-v2) or 128 (v3)
  std::string program = "espeak-ng";  // looked up in PATH
};

struct SpokenWords {
  torch::Tensor features;               // (N, n_mels, frames) float32, Whisper log-mel
  torch::Tensor labels;                 // (N) int64, index into `words`
  std::vector<std::string> words;       // label -> word
  std::vector<std::string> paths;       // the 16 kHz WAV of each row
  std::vector<SpeechVariant> variants;  // the variant of each row
};

// Variant k of the fixed table: voice k % 5 of {en, en-us, en-gb-x-rp, en+f3, en+m3},
// speed k % 3 of {140, 175, 210}, pitch k % 4 of {30, 45, 60, 75}. 5, 3 and 4 are coprime,
// so the first 60 variants are all distinct and any prefix mixes every axis.
constexpr int kMaxSpeechVariants = 60;
SpeechVariant speech_variant(int k);

// Says each of `words` in the first `variants` variants with espeak-ng, resamples its
// 22050 Hz output to 16 kHz and stores <out_dir>/<word>/<voice>_s<speed>_p<pitch>.wav;
// existing files are reused, not regenerated. Rows are word-major. Throws UsageError for
// empty, duplicate or multi-line words or variants outside [1, 60], and Error with
// `sudo apt-get install espeak-ng` when the program is missing.
SpokenWords generate_spoken_words(const std::vector<std::string>& words, const std::string& out_dir,
                                  int variants = 6, const SpeechOptions& options = {});

// Band-limited resampling of (T) audio from `from_hz` to `to_hz`: each output sample is the
// input convolved with a Hann-windowed sinc low-pass (cutoff 0.99 x the lower Nyquist,
// 16 zero crossings each side), evaluated at its exact input position. This is torchaudio's
// "sinc_interp_hann" method without the polyphase bookkeeping; linear interpolation would
// alias the 8-11 kHz band of espeak's 22050 Hz output into the features. Returns
// (ceil(T * to_hz / from_hz)) float32.
torch::Tensor resample(const torch::Tensor& audio, int from_hz, int to_hz);

}  // namespace elarin
