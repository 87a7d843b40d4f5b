// Audio augmentation: with no randomness left (no shift, gain 1, no noise) the wave is
// unchanged; a shift moves an impulse by exactly the drawn amount and zero-fills; gain and
// noise stay in their ranges; spectrogram masks cover at most their widths and take the
// example's mean.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "elarin/data/audio_augment.hpp"

namespace {

TEST(AudioAugment, IdentityWhenEveryRangeIsEmpty) {
  elarin::AudioAugment aug;
  aug.max_shift = 0;
  aug.min_gain = aug.max_gain = 1.0;
  aug.noise = 0;
  auto gen = at::detail::createCPUGenerator(1);
  auto x = torch::randn({3, 1000});
  EXPECT_TRUE(torch::allclose(aug.wave(x, gen), x, 0, 1e-7));
}

TEST(AudioAugment, ShiftMovesAnImpulseWithinTheRange) {
  elarin::AudioAugment aug;
  aug.max_shift = 50;
  aug.min_gain = aug.max_gain = 1.0;
  aug.noise = 0;
  auto gen = at::detail::createCPUGenerator(2);
  auto x = torch::zeros({64, 400});
  x.select(1, 200).fill_(1.0);
  auto y = aug.wave(x, gen);
  std::set<int64_t> shifts;
  for (int64_t i = 0; i < 64; ++i) {
    EXPECT_FLOAT_EQ(y[i].sum().item<float>(), 1.0f) << "one impulse, nothing else";
    const int64_t at = y[i].argmax().item<int64_t>();
    EXPECT_LE(std::abs(at - 200), 50);
    shifts.insert(at - 200);
  }
  EXPECT_GT(shifts.size(), 20u) << "shifts vary";
  // An impulse shifted out of the window disappears (zeros fill the gap).
  auto edge = torch::zeros({64, 400});
  edge.select(1, 0).fill_(1.0);
  auto ye = aug.wave(edge, gen);
  EXPECT_LT(ye.sum().item<float>(), 64.0f);
}

TEST(AudioAugment, GainAndNoiseStayInRange) {
  elarin::AudioAugment aug;
  aug.max_shift = 0;
  aug.noise = 0;
  auto gen = at::detail::createCPUGenerator(3);
  auto y = aug.wave(torch::ones({200, 10}), gen);
  EXPECT_GE(y.min().item<float>(), 0.5f);
  EXPECT_LE(y.max().item<float>(), 1.5f);
  aug.min_gain = aug.max_gain = 1.0;
  aug.noise = 0.01;
  auto n = aug.wave(torch::zeros({4, 20000}), gen);
  EXPECT_LT(n.std().item<float>(), 0.01f);
  EXPECT_GT(n.abs().max().item<float>(), 0.0f);
}

TEST(AudioAugment, SpectrogramMasksAreBoundedAndTakeTheMean) {
  elarin::AudioAugment aug;
  aug.freq_mask = 5;
  aug.time_mask = 7;
  auto gen = at::detail::createCPUGenerator(4);
  auto mel = torch::rand({32, 80, 100}) + 1.0;  // never equal to its mean by chance
  auto y = aug.spectrogram(mel, gen);
  auto changed = y != mel;  // (B, M, T)
  for (int64_t b = 0; b < 32; ++b) {
    auto band = changed[b].all(1);  // mel bands masked over all frames
    auto span = changed[b].all(0);  // frames masked over all bands
    EXPECT_LE(band.sum().item<int64_t>(), 5);
    EXPECT_LE(span.sum().item<int64_t>(), 7);
    // Every changed entry lies in a masked band or a masked frame span.
    auto explained = band.unsqueeze(1) | span.unsqueeze(0);
    EXPECT_FALSE((changed[b] & ~explained).any().item<bool>());
    if (changed[b].any().item<bool>()) {
      auto filled = y[b].masked_select(changed[b]);
      EXPECT_NEAR(filled[0].item<float>(), mel[b].mean().item<float>(), 1e-5);
    }
  }
  EXPECT_GT(changed.sum().item<int64_t>(), 0);
}

}  // namespace
