// Whisper-compatible log-mel spectrogram (openai/whisper audio.py log_mel_spectrogram) and the
// Slaney mel filterbank it uses (librosa.filters.mel, htk=False, norm="slaney").
// Leaves out Whisper's 30-second padding: callers pad or crop the audio themselves.
//
//   torch::Tensor audio = torch::zeros({16000});                 // 1 s at 16 kHz, float in [-1, 1)
//   torch::Tensor mel = elarin::log_mel_spectrogram(audio);      // (80, 100): T / 160 frames
//   torch::Tensor fb = elarin::mel_filterbank(16000, 400, 128);  // (128, 201)
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace elarin {

constexpr int64_t kWhisperSampleRate = 16000;
constexpr int64_t kWhisperNfft = 400;  // 25 ms window
constexpr int64_t kWhisperHop = 160;   // 10 ms hop

// Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
double hz_to_mel_slaney(double hz);
double mel_to_hz_slaney(double mel);

// Triangular filters on the Slaney mel scale between 0 Hz and sample_rate / 2, each scaled by
// 2 / (upper edge - lower edge) in Hz so that every triangle has unit area (norm="slaney").
// Returns (n_mels, n_fft / 2 + 1) float32, computed in double as librosa does.
torch::Tensor mel_filterbank(int64_t sample_rate = kWhisperSampleRate, int64_t n_fft = kWhisperNfft,
                             int64_t n_mels = 80);

// Whisper's features: |STFT|^2 with a periodic Hann window (n_fft 400, hop 160, centred,
// reflect padding), the last frame dropped, mel filters, log10(max(x, 1e-10)), floor at
// max - 8, then (x + 4) / 4. `audio` is (T) or (B, T) float at 16 kHz with T > 200; the
// max is taken per item. Returns (n_mels, T / 160) or (B, n_mels, T / 160) float32.
torch::Tensor log_mel_spectrogram(const torch::Tensor& audio, int64_t n_mels = 80);

}  // namespace elarin
