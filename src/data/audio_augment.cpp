// Audio augmentation (see the header). Vectorised over the batch: masks and shifts are built
// as index comparisons, no per-sample loop over the samples.
#include "elarin/data/audio_augment.hpp"

#include <torch/torch.h>

namespace elarin {
namespace {

// (B) uniform integers in [lo, hi].
torch::Tensor uniform_int(int64_t b, int64_t lo, int64_t hi, at::Generator& gen) {
  return torch::randint(lo, hi + 1, {b}, gen, torch::kLong);
}

}  // namespace

torch::Tensor AudioAugment::wave(const torch::Tensor& audio, at::Generator& gen) const {
  TORCH_CHECK(audio.dim() == 2, "AudioAugment::wave: expected (B, S), got ", audio.sizes());
  const int64_t b = audio.size(0), s = audio.size(1);
  // Shift: out[i] = in[i - shift], zeros outside.
  auto shift = uniform_int(b, -max_shift, max_shift, gen).unsqueeze(1);  // (B, 1)
  auto src = torch::arange(s, torch::kLong).unsqueeze(0) - shift;        // (B, S)
  auto valid = (src >= 0) & (src < s);
  auto out = audio.gather(1, src.clamp(0, s - 1)) * valid.to(audio.scalar_type());
  auto gain = torch::rand({b, 1}, gen) * (max_gain - min_gain) + min_gain;
  auto level = torch::rand({b, 1}, gen) * noise;
  return out * gain + torch::randn({b, s}, gen) * level;
}

torch::Tensor AudioAugment::spectrogram(const torch::Tensor& mel, at::Generator& gen) const {
  TORCH_CHECK(mel.dim() == 3, "AudioAugment::spectrogram: expected (B, n_mels, T), got ",
              mel.sizes());
  const int64_t b = mel.size(0), m = mel.size(1), t = mel.size(2);
  auto band = [&](int64_t extent, int64_t max_width) {  // (B, extent) true inside the mask
    auto width = uniform_int(b, 0, std::min(max_width, extent), gen).unsqueeze(1);
    auto start = (torch::rand({b, 1}, gen) * (extent - width + 1).to(torch::kFloat))
                     .floor()
                     .to(torch::kLong);
    auto i = torch::arange(extent, torch::kLong).unsqueeze(0);
    return (i >= start) & (i < start + width);
  };
  auto mask = band(m, freq_mask).unsqueeze(2) | band(t, time_mask).unsqueeze(1);  // (B, M, T)
  auto fill = mel.mean({1, 2}, /*keepdim=*/true).expand_as(mel);
  return torch::where(mask, fill, mel);
}

}  // namespace elarin
