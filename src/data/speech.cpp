// espeak-ng word synthesis (core/subprocess: an argv, no shell, no quoting), band-limited
// resampling to 16 kHz and log-mel features. Leaves out parallel synthesis.
#include "elarin/data/speech.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/progress.hpp"
#include "elarin/core/subprocess.hpp"
#include "elarin/data/log_mel.hpp"
#include "elarin/data/wav.hpp"

extern char** environ;

namespace elarin {
namespace fs = std::filesystem;
namespace {

const char* const kVoices[] = {"en", "en-us", "en-gb-x-rp", "en+f3", "en+m3"};
const int kSpeeds[] = {140, 175, 210};
const int kPitches[] = {30, 45, 60, 75};

// A directory name for `word`: itself when it is plain [a-z0-9_-], else a cleaned form plus
// a hash of the original so that different words never share a cache directory.
std::string word_dir_name(const std::string& word) {
  std::string clean;
  bool changed = false;
  for (unsigned char c : word) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    clean += plain ? char(c) : '_';
    changed = changed || !plain;
  }
  if (clean.size() > 64) clean.resize(64), changed = true;
  if (!changed) return clean;
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : word) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return clean + "-" + hex;
}

// Synthesizes `word` in `v` and stores it at `path` as 16 kHz mono WAV.
void synthesize(const std::string& word, const SpeechVariant& v, const std::string& path,
                const std::string& program) {
  // Temp names carry the pid so that two processes filling one cache do not collide.
  const std::string stem = path + ".tmp" + std::to_string(::getpid());
  const std::string text_path = stem + ".txt", raw_path = stem + ".wav", log_path = stem + ".log";
  // The word goes through a file (-f), never argv: a word like "-w" must stay text.
  write_file_atomic(text_path, word + "\n");
  // stdout is discarded, stderr kept for the message.
  const int code = run_program({program, "-v", v.voice, "-s", std::to_string(v.speed), "-p",
                                std::to_string(v.pitch), "-w", raw_path, "-f", text_path},
                               {Redirect::null(), Redirect::null(), Redirect::file(log_path)},
                               "install it with `sudo apt-get install espeak-ng` "
                               "(or run scripts/setup.sh)");
  std::string log;
  if (fs::exists(log_path)) log = read_file(log_path);
  std::error_code ec;
  fs::remove(text_path, ec);
  fs::remove(log_path, ec);
  if (code != 0 || !fs::exists(raw_path)) {
    fs::remove(raw_path, ec);
    while (!log.empty() && (log.back() == '\n' || log.back() == '\r')) log.pop_back();
    throw Error(program + " failed (exit " + std::to_string(code) + ") saying '" + word +
                "' with voice " + v.voice + ": " + (log.empty() ? "no message" : log) +
                " (list voices with `" + program + " --voices=en`)");
  }
  Wav raw = read_wav(raw_path);
  fs::remove(raw_path, ec);
  if (raw.samples.numel() == 0) {
    throw Error(program + " wrote no audio for '" + word + "' with voice " + v.voice);
  }
  write_wav(path, resample(raw.samples, raw.sample_rate, int(kWhisperSampleRate)),
            int(kWhisperSampleRate));
}

}  // namespace

SpeechVariant speech_variant(int k) {
  if (k < 0 || k >= kMaxSpeechVariants) {
    throw UsageError("speech variant " + std::to_string(k) + ", expected 0-" +
                     std::to_string(kMaxSpeechVariants - 1));
  }
  return {kVoices[k % 5], kSpeeds[k % 3], kPitches[k % 4]};
}

torch::Tensor resample(const torch::Tensor& audio, int from_hz, int to_hz) {
  TORCH_CHECK(audio.dim() == 1, "resample: audio must be (T), got ", audio.sizes());
  if (from_hz <= 0 || to_hz <= 0) {
    throw UsageError("resample: rates " + std::to_string(from_hz) + " -> " + std::to_string(to_hz) +
                     " Hz, expected positive rates");
  }
  auto x = audio.to(torch::kFloat32);
  if (from_hz == to_hz) return x.clone();
  const int64_t n_in = x.size(0);
  const int64_t n_out = (n_in * to_hz + from_hz - 1) / from_hz;
  constexpr double kZeroCrossings = 16.0, kRolloff = 0.99;
  // Cutoff as a fraction of the input Nyquist; the kernel spans `half_width` input samples.
  const double cutoff = kRolloff * std::min(1.0, double(to_hz) / from_hz);
  const double half_width = kZeroCrossings / cutoff;
  const auto taps = int64_t(std::ceil(half_width));
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto offsets = torch::arange(-taps + 1, taps + 1, torch::kInt64);  // (2 taps)
  auto padded = torch::constant_pad_nd(x, {taps, taps + 1});         // zeros outside the input
  std::vector<torch::Tensor> parts;
  // Chunks bound the (outputs, 2 taps) temporaries to a few MB for long audio.
  constexpr int64_t kChunk = 1 << 15;
  for (int64_t start = 0; start < n_out; start += kChunk) {
    const int64_t end = std::min(n_out, start + kChunk);
    auto t = torch::arange(start, end, f64) * (double(from_hz) / to_hz);  // (n) input positions
    auto base = torch::floor(t).to(torch::kInt64);
    auto k = base.unsqueeze(1) + offsets.unsqueeze(0);  // (n, 2 taps)
    auto d = t.unsqueeze(1) - k.to(torch::kFloat64);    // distance in samples
    auto window =
        torch::where(d.abs() < half_width, torch::cos(d * (M_PI / (2.0 * half_width))).pow(2),
                     torch::zeros_like(d));
    auto h = (cutoff * torch::sinc(cutoff * d) * window).to(torch::kFloat32);
    auto gathered = padded.index_select(0, (k + taps).flatten()).view(k.sizes());
    parts.push_back((gathered * h).sum(1));  // (n)
  }
  return torch::cat(parts);
}

SpokenWords generate_spoken_words(const std::vector<std::string>& words, const std::string& out_dir,
                                  int variants, const SpeechOptions& options) {
  if (variants < 1 || variants > kMaxSpeechVariants) {
    throw UsageError("spoken words: variants " + std::to_string(variants) + ", expected 1-" +
                     std::to_string(kMaxSpeechVariants));
  }
  if (options.frames < 2 || (options.n_mels != 80 && options.n_mels != 128)) {
    throw UsageError("spoken words: frames " + std::to_string(options.frames) + ", n_mels " +
                     std::to_string(options.n_mels) + ", expected frames >= 2, n_mels 80 or 128");
  }
  if (words.empty()) throw UsageError("spoken words: no words given");
  std::set<std::string> seen;
  for (const auto& w : words) {
    if (w.empty() || w.find_first_of("\r\n") != std::string::npos) {
      throw UsageError("spoken words: word '" + w + "', expected non-empty text on one line");
    }
    if (!seen.insert(w).second) throw UsageError("spoken words: word '" + w + "' given twice");
  }
  SpokenWords out;
  out.words = words;
  const int64_t samples = options.frames * kWhisperHop;
  std::vector<torch::Tensor> audio;  // (samples) each
  std::vector<int64_t> labels;
  // espeak-ng takes ~50 ms a clip: hundreds of clips are long work, so show a bar (TTY only).
  ProgressBar progress(int64_t(words.size()) * variants, "spoken words", "clip");
  for (size_t i = 0; i < words.size(); ++i) {
    const fs::path dir = fs::path(out_dir) / word_dir_name(words[i]);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      throw Error("cannot create speech cache directory '" + dir.string() + "': " + ec.message());
    }
    for (int k = 0; k < variants; ++k) {
      const SpeechVariant v = speech_variant(k);
      const std::string path = (dir / (v.voice + "_s" + std::to_string(v.speed) + "_p" +
                                       std::to_string(v.pitch) + ".wav"))
                                   .string();
      if (!fs::exists(path)) synthesize(words[i], v, path, options.program);
      torch::Tensor x = read_wav(path, int(kWhisperSampleRate)).samples;
      // Whisper's pad_or_trim: zeros after the word, or cut at the fixed length.
      x = x.size(0) >= samples ? x.slice(0, 0, samples)
                               : torch::constant_pad_nd(x, {0, samples - x.size(0)});
      audio.push_back(x);
      labels.push_back(int64_t(i));
      out.paths.push_back(path);
      out.variants.push_back(v);
      progress.update();
    }
  }
  progress.finish();
  out.features = log_mel_spectrogram(torch::stack(audio), options.n_mels);  // (N, n_mels, frames)
  out.labels = torch::tensor(labels, torch::kInt64);
  return out;
}

}  // namespace elarin
