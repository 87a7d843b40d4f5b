// Whisper log-mel features written from the formulas of openai/whisper (audio.py) and
// librosa (filters.mel, convert.hz_to_mel). Leaves out the HTK mel scale and other norms.
#include "elarin/data/log_mel.hpp"

#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

// Slaney's constants: 200/3 Hz per mel up to 1 kHz (mel 15), then 27 mels per factor 6.4.
constexpr double kHzPerMel = 200.0 / 3.0;
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = kMinLogHz / kHzPerMel;
const double kLogStep = std::log(6.4) / 27.0;

}  // namespace

double hz_to_mel_slaney(double hz) {
  return hz >= kMinLogHz ? kMinLogMel + std::log(hz / kMinLogHz) / kLogStep : hz / kHzPerMel;
}

double mel_to_hz_slaney(double mel) {
  return mel >= kMinLogMel ? kMinLogHz * std::exp(kLogStep * (mel - kMinLogMel)) : mel * kHzPerMel;
}

torch::Tensor mel_filterbank(int64_t sample_rate, int64_t n_fft, int64_t n_mels) {
  if (sample_rate <= 0 || n_fft < 2 || n_mels < 1) {
    throw UsageError("mel_filterbank: sample_rate " + std::to_string(sample_rate) + ", n_fft " +
                     std::to_string(n_fft) + ", n_mels " + std::to_string(n_mels) +
                     ", expected all positive and n_fft >= 2");
  }
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t n_freqs = n_fft / 2 + 1;
  // FFT bin centres (n_freqs) and the n_mels + 2 band edges, evenly spaced in mel.
  auto fft_hz = torch::linspace(0.0, double(sample_rate) / 2.0, n_freqs, f64);
  auto mels = torch::linspace(0.0, hz_to_mel_slaney(double(sample_rate) / 2.0), n_mels + 2, f64);
  // mel -> Hz piecewise, in tensor form to match the scalar mel_to_hz_slaney.
  auto edges_hz =
      torch::where(mels >= kMinLogMel, kMinLogHz * torch::exp(kLogStep * (mels - kMinLogMel)),
                   mels * kHzPerMel);                             // (n_mels + 2)
  auto widths = edges_hz.slice(0, 1) - edges_hz.slice(0, 0, -1);  // (n_mels + 1)
  auto ramps = edges_hz.unsqueeze(1) - fft_hz.unsqueeze(0);       // (n_mels + 2, n_freqs)
  auto lower = -ramps.slice(0, 0, n_mels) / widths.slice(0, 0, n_mels).unsqueeze(1);
  auto upper = ramps.slice(0, 2, n_mels + 2) / widths.slice(0, 1, n_mels + 1).unsqueeze(1);
  auto weights = torch::clamp_min(torch::minimum(lower, upper), 0.0);  // (n_mels, n_freqs)
  auto enorm = 2.0 / (edges_hz.slice(0, 2, n_mels + 2) - edges_hz.slice(0, 0, n_mels));
  return (weights * enorm.unsqueeze(1)).to(torch::kFloat32);
}

torch::Tensor log_mel_spectrogram(const torch::Tensor& audio, int64_t n_mels) {
  TORCH_CHECK(audio.dim() == 1 || audio.dim() == 2,
              "log_mel_spectrogram: audio must be (T) or (B, T), got ", audio.sizes());
  const int64_t samples = audio.size(-1);
  if (samples <= kWhisperNfft / 2) {
    throw UsageError("log_mel_spectrogram: " + std::to_string(samples) +
                     " samples, expected more than " + std::to_string(kWhisperNfft / 2) +
                     " (reflect padding needs half a window); pad the audio first");
  }
  // The filterbank depends only on n_mels here: build it once per size and device.
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, std::string>, torch::Tensor> cache;
  torch::Tensor filters;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto& entry = cache[{n_mels, audio.device().str()}];
    if (!entry.defined()) {
      entry = mel_filterbank(kWhisperSampleRate, kWhisperNfft, n_mels).to(audio.device());
    }
    filters = entry;  // (n_mels, 201)
  }
  const bool batched = audio.dim() == 2;
  auto x = (batched ? audio : audio.unsqueeze(0)).to(torch::kFloat32);  // (B, T)
  auto window = torch::hann_window(kWhisperNfft, torch::TensorOptions().device(x.device()));
  auto spec = torch::stft(x, kWhisperNfft, kWhisperHop, kWhisperNfft, window, /*center=*/true,
                          "reflect", /*normalized=*/false, /*onesided=*/true,
                          /*return_complex=*/true);  // (B, 201, T / 160 + 1)
  // Whisper drops the last frame, so T samples give exactly T / 160 frames.
  auto power = torch::abs(spec.slice(-1, 0, spec.size(-1) - 1)).pow(2);  // (B, 201, F)
  auto mel = torch::matmul(filters, power);                              // (B, n_mels, F)
  auto log_spec = torch::clamp_min(mel, 1e-10).log10();
  auto peak = std::get<0>(log_spec.flatten(1).max(1)).view({-1, 1, 1});  // (B, 1, 1)
  log_spec = torch::maximum(log_spec, peak - 8.0);
  log_spec = (log_spec + 4.0) / 4.0;
  return batched ? log_spec : log_spec.squeeze(0);
}

}  // namespace elarin
