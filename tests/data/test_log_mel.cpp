// Whisper log-mel: the Slaney filterbank against librosa's formula evaluated here in scalar
// double code, its area normalisation, and the whole pipeline against a direct-DFT reference.
#include "elarin/data/log_mel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "elarin/core/errors.hpp"

namespace {

using Matrix = std::vector<std::vector<double>>;

// Slaney mel scale written out again, independently of the library.
double ref_hz_to_mel(double f) {
  return f < 1000.0 ? 3.0 * f / 200.0 : 15.0 + 27.0 * std::log(f / 1000.0) / std::log(6.4);
}
double ref_mel_to_hz(double m) {
  return m < 15.0 ? 200.0 * m / 3.0 : 1000.0 * std::pow(6.4, (m - 15.0) / 27.0);
}

// Band edges in Hz: n_mels + 2 points evenly spaced in mel from 0 to sr / 2.
std::vector<double> ref_edges(int sr, int n_mels) {
  std::vector<double> e(n_mels + 2);
  const double top = ref_hz_to_mel(sr / 2.0);
  for (int i = 0; i < n_mels + 2; ++i) e[i] = ref_mel_to_hz(top * i / (n_mels + 1));
  return e;
}

// librosa.filters.mel(sr, n_fft, n_mels, htk=False, norm="slaney"), one weight at a time.
Matrix ref_filterbank(int sr, int n_fft, int n_mels) {
  const auto e = ref_edges(sr, n_mels);
  const int n_freqs = n_fft / 2 + 1;
  Matrix w(n_mels, std::vector<double>(n_freqs));
  for (int i = 0; i < n_mels; ++i) {
    for (int j = 0; j < n_freqs; ++j) {
      const double f = double(j) * sr / n_fft;
      const double rise = (f - e[i]) / (e[i + 1] - e[i]);
      const double fall = (e[i + 2] - f) / (e[i + 2] - e[i + 1]);
      w[i][j] = std::max(0.0, std::min(rise, fall)) * 2.0 / (e[i + 2] - e[i]);
    }
  }
  return w;
}

double max_diff(const torch::Tensor& t, const Matrix& m) {
  auto t64 = t.to(torch::kFloat64).contiguous();
  auto a = t64.accessor<double, 2>();
  double worst = 0;
  for (size_t i = 0; i < m.size(); ++i)
    for (size_t j = 0; j < m[i].size(); ++j) worst = std::max(worst, std::abs(a[i][j] - m[i][j]));
  return worst;
}

TEST(DataLogMel, SlaneyScaleKnownPoints) {
  EXPECT_DOUBLE_EQ(elarin::hz_to_mel_slaney(0.0), 0.0);
  EXPECT_NEAR(elarin::hz_to_mel_slaney(500.0), 7.5, 1e-12);
  EXPECT_NEAR(elarin::hz_to_mel_slaney(1000.0), 15.0, 1e-12);
  EXPECT_NEAR(elarin::hz_to_mel_slaney(6400.0), 42.0, 1e-9);  // one log step of 6.4 = 27 mels
  for (double hz : {30.0, 999.0, 1234.5, 7999.0}) {
    EXPECT_NEAR(elarin::mel_to_hz_slaney(elarin::hz_to_mel_slaney(hz)), hz, 1e-9);
  }
}

TEST(DataLogMel, FilterbankMatchesLibrosaFormula) {
  for (int n_mels : {80, 128}) {
    auto fb = elarin::mel_filterbank(16000, 400, n_mels);
    ASSERT_EQ(fb.sizes(), (std::vector<int64_t>{n_mels, 201}));
    EXPECT_EQ(fb.scalar_type(), torch::kFloat32);
    const double diff = max_diff(fb, ref_filterbank(16000, 400, n_mels));
    std::printf("mel filterbank n_mels=%d max |diff| vs formula = %.3g\n", n_mels, diff);
    EXPECT_LT(diff, 1e-7);  // float32 rounding of values below 0.03
  }
}

TEST(DataLogMel, FilterbankMatchesPublishedWhisperValues) {
  // Entries of librosa.filters.mel(sr=16000, n_fft=400, n_mels=80), the matrix Whisper ships
  // as mel_filters.npz, as quoted by other ports' tests: [mel bin, FFT bin, value].
  const double points[][3] = {{0, 1, 0.02486259490251541},     {1, 2, 0.022871771827340126},
                              {9, 10, 0.006945197004824877},   {39, 41, 0.011486922390758991},
                              {69, 131, 0.00487553421407938},  {79, 192, 0.0031647116411477327},
                              {79, 190, 0.0022320549469441175}};
  auto fb = elarin::mel_filterbank(16000, 400, 80);
  for (const auto& p : points) {
    const double got = fb[int64_t(p[0])][int64_t(p[1])].item<double>();
    EXPECT_NEAR(got, p[2], 1e-5 * p[2]) << "mel " << p[0] << " bin " << p[1];
  }
  EXPECT_NEAR(fb.sum().item<double>(), 1.999024, 2e-5);
}

TEST(DataLogMel, TrianglesHaveUnitAreaAndPeakAtTheirCentre) {
  const int n_mels = 80;
  const double bin_hz = 16000.0 / 400;
  auto fb = elarin::mel_filterbank(16000, 400, n_mels).to(torch::kFloat64);
  const auto e = ref_edges(16000, n_mels);
  int wide = 0;
  for (int i = 0; i < n_mels; ++i) {
    auto row = fb[i];
    const double height = 2.0 / (e[i + 2] - e[i]);  // unit-area triangle of that base
    EXPECT_LE(row.max().item<double>(), height * (1 + 1e-6)) << "filter " << i;
    const auto peak = row.argmax().item<int64_t>();
    EXPECT_LE(std::abs(double(peak) - e[i + 1] / bin_hz), 1.0) << "filter " << i;
    // Slaney norm: the integral over Hz is 1. The bin sum approximates it well once the
    // triangle spans 4+ bins; the narrow low filters are undersampled by n_fft = 400 (their
    // sums are 0.93-1.08 in librosa too). Without the norm they would be the half-width in Hz.
    const double area = row.sum().item<double>() * bin_hz;
    EXPECT_NEAR(area, 1.0, 0.1) << "filter " << i;
    if (e[i + 2] - e[i] >= 4 * bin_hz) {
      ++wide;
      EXPECT_NEAR(area, 1.0, 0.025) << "filter " << i;
    }
  }
  EXPECT_GT(wide, 30);
}

// The whole Whisper pipeline with a direct DFT: reflect pad 200, periodic Hann, 201 bins,
// power, drop the last frame, filterbank, log10, floor at max - 8, (x + 4) / 4.
Matrix ref_log_mel(const std::vector<double>& x, int n_mels) {
  const int n_fft = 400, hop = 160, pad = 200, T = int(x.size());
  auto padded = [&](int i) {
    int k = i - pad;
    if (k < 0) k = -k;
    if (k >= T) k = 2 * (T - 1) - k;
    return x[k];
  };
  const Matrix fb = ref_filterbank(16000, n_fft, n_mels);
  const int frames = T / hop;
  Matrix out(n_mels, std::vector<double>(frames));
  double top = -1e30;
  std::vector<double> power(n_fft / 2 + 1);
  for (int f = 0; f < frames; ++f) {
    for (int k = 0; k <= n_fft / 2; ++k) {
      double re = 0, im = 0;
      for (int n = 0; n < n_fft; ++n) {
        const double v = padded(f * hop + n) * (0.5 - 0.5 * std::cos(2 * M_PI * n / n_fft));
        const double a = 2 * M_PI * double((k * n) % n_fft) / n_fft;
        re += v * std::cos(a);
        im -= v * std::sin(a);
      }
      power[k] = re * re + im * im;
    }
    for (int i = 0; i < n_mels; ++i) {
      double m = 0;
      for (int k = 0; k <= n_fft / 2; ++k) m += fb[i][k] * power[k];
      out[i][f] = std::log10(std::max(m, 1e-10));
      top = std::max(top, out[i][f]);
    }
  }
  for (auto& row : out)
    for (auto& v : row) v = (std::max(v, top - 8.0) + 4.0) / 4.0;
  return out;
}

TEST(DataLogMel, MatchesDirectDftReference) {
  const int T = 3200;  // 20 frames
  std::vector<double> x(T);
  for (int n = 0; n < T; ++n) {
    x[n] = 0.3 * std::sin(2 * M_PI * 440.0 * n / 16000) +
           0.2 * std::sin(2 * M_PI * (2500.0 + 0.5 * n) * n / 16000) +
           0.01 * std::sin(double(n) * n * 0.37);  // chirp-ish broadband
  }
  auto audio = torch::tensor(x, torch::kFloat32);
  for (int n_mels : {80, 128}) {
    auto mel = elarin::log_mel_spectrogram(audio, n_mels);
    ASSERT_EQ(mel.sizes(), (std::vector<int64_t>{n_mels, T / 160}));
    const double diff = max_diff(mel, ref_log_mel(x, n_mels));
    std::printf("log-mel n_mels=%d max |diff| vs direct DFT = %.3g\n", n_mels, diff);
    EXPECT_LT(diff, 1e-3);
  }
}

TEST(DataLogMel, SinePeaksInTheMelBinOfItsFrequency) {
  const auto fb = ref_filterbank(16000, 400, 80);
  for (double hz : {1000.0, 3000.0}) {
    auto t = torch::arange(16000, torch::kFloat64) / 16000.0;
    auto audio = (0.5 * torch::sin(2 * M_PI * hz * t)).to(torch::kFloat32);  // 1 s
    auto mel = elarin::log_mel_spectrogram(audio);
    ASSERT_EQ(mel.sizes(), (std::vector<int64_t>{80, 100}));
    const auto got = mel.mean(1).argmax().item<int64_t>();
    // The tone sits exactly on FFT bin hz / 40: the filter weighting that bin most wins.
    const int bin = int(hz / 40.0);
    int want = 0;
    for (int i = 1; i < 80; ++i) want = fb[i][bin] > fb[want][bin] ? i : want;
    EXPECT_EQ(got, want) << hz << " Hz";
    // Its normalised peak is (max + 4) / 4 and the floor sits 8 decades (2 units) below it.
    EXPECT_NEAR((mel.max() - mel.min()).item<float>(), 2.0f, 1e-4f);
  }
}

TEST(DataLogMel, BatchMatchesSingleAndShortAudioIsRejected) {
  auto gen = at::detail::createCPUGenerator(5);
  auto a = torch::randn({2, 4000}, gen) * 0.1;
  auto both = elarin::log_mel_spectrogram(a);
  ASSERT_EQ(both.sizes(), (std::vector<int64_t>{2, 80, 25}));
  EXPECT_LT((both[1] - elarin::log_mel_spectrogram(a[1])).abs().max().item<float>(), 1e-5f);
  EXPECT_THROW(elarin::log_mel_spectrogram(torch::zeros({200})), elarin::UsageError);
}

}  // namespace
