// Random audio augmentation for self-supervised (contrastive) training of a sound encoder:
// on the waveform a time shift, a gain and added noise; on the log-mel features SpecAugment's
// frequency and time masks. Per example, from a seeded generator. Leaves out speed and pitch
// changes (espeak-ng's variants already vary both).
//
//   elarin::AudioAugment aug;  // defaults suit 1-2 s spoken words at 16 kHz
//   torch::Generator gen = at::detail::createCPUGenerator(/*seed=*/1);
//   torch::Tensor audio = torch::randn({8, 16000}) * 0.1;  // (B, S)
//   torch::Tensor view = aug.wave(audio, gen);             // (B, S) -> (B, S)
//   torch::Tensor mel = torch::randn({8, 80, 100});        // (B, n_mels, T)
//   torch::Tensor masked = aug.spectrogram(mel, gen);      // same shape
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace elarin {

struct AudioAugment {
  int64_t max_shift = 2400;  // samples, uniform in [-max, max]; zeros fill the gap (0.15 s)
  double min_gain = 0.5;     // gain uniform in [min, max]
  double max_gain = 1.5;
  double noise = 0.01;     // std of added Gaussian noise, times a uniform [0, 1) factor
  int64_t freq_mask = 12;  // mel bands masked: one band of width uniform in [0, freq_mask]
  int64_t time_mask = 15;  // frames masked: one span of width uniform in [0, time_mask]
  torch::Tensor wave(const torch::Tensor& audio, at::Generator& gen) const;
  // Masked entries take each example's mean value (Whisper features have no natural zero).
  torch::Tensor spectrogram(const torch::Tensor& mel, at::Generator& gen) const;
};

}  // namespace elarin
