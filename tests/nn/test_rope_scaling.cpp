// RoPE scaling against Hugging Face's definitions: Llama 3.1's llama3 frequencies equal the
// formula re-implemented here band by band (kept, divided by factor, blended between), are
// monotonic, and rotate the high-frequency pairs exactly as plain RoPE does; linear scaling
// at position p is plain RoPE at p / factor; bad settings are named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/rope_scaling.hpp"
#include "elarin/nn/rotary.hpp"
#include "test_util.hpp"

namespace {

using elarin::nn::RopeScaling;
using elarin::nn::Rotary;

// meta-llama/Llama-3.1-8B: head_dim 128, rope_theta 500000, rope_scaling llama3.
RopeScaling llama31() {
  RopeScaling s;
  s.type = "llama3";
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_position_embeddings = 8192;
  return s;
}
constexpr int64_t kD = 128;
constexpr double kTheta = 500000.0;

enum class Band { kHigh, kMedium, kLow };

// transformers' _compute_llama3_parameters, one frequency at a time, in float64.
double hf_llama3(double inv_freq, Band* band) {
  const double factor = 8, low = 1, high = 4, old_len = 8192;
  const double wavelen = 2 * M_PI / inv_freq;
  if (wavelen < old_len / high) {
    *band = Band::kHigh;
    return inv_freq;
  }
  if (wavelen > old_len / low) {
    *band = Band::kLow;
    return inv_freq / factor;
  }
  *band = Band::kMedium;
  const double smooth = (old_len / wavelen - low) / (high - low);
  return (1 - smooth) * inv_freq / factor + smooth * inv_freq;
}

TEST(RopeScaling, Llama31FrequenciesMatchHuggingFacesFormula) {
  const auto plain = elarin::nn::rope_inv_freq(kD, kTheta);
  const auto scaled = elarin::nn::rope_inv_freq(kD, kTheta, llama31());
  ASSERT_EQ(scaled.size(), size_t(kD / 2));
  double max_rel = 0;
  int counts[3] = {0, 0, 0};
  for (size_t i = 0; i < scaled.size(); ++i) {
    const double base = 1.0 / std::pow(kTheta, 2.0 * double(i) / kD);
    Band band;
    const double want = hf_llama3(base, &band);
    ++counts[static_cast<int>(band)];
    max_rel = std::max(max_rel, std::abs(scaled[i] - want) / want);
    switch (band) {
      case Band::kHigh:  // wavelength < 8192 / 4: untouched, bit for bit
        EXPECT_EQ(scaled[i], plain[i]) << "pair " << i;
        break;
      case Band::kLow:  // wavelength > 8192: divided by the factor exactly
        EXPECT_EQ(scaled[i], plain[i] / 8) << "pair " << i;
        break;
      case Band::kMedium:  // strictly between the two
        EXPECT_LT(scaled[i], plain[i]) << "pair " << i;
        EXPECT_GT(scaled[i], plain[i] / 8) << "pair " << i;
        break;
    }
    if (i > 0) {
      EXPECT_LT(scaled[i], scaled[i - 1]) << "not decreasing at pair " << i;
    }
  }
  std::printf(
      "  llama3 inv_freq vs HF formula: max rel diff %.3e (tol 1e-14); bands %d high, "
      "%d medium, %d low\n",
      max_rel, counts[0], counts[1], counts[2]);
  EXPECT_LE(max_rel, 1e-14);
  // Llama 3.1's split at head_dim 128: pairs 0..28 kept, 29..34 blended, 35..63 scaled.
  EXPECT_EQ(counts[0], 29);
  EXPECT_EQ(counts[1], 6);
  EXPECT_EQ(counts[2], 29);
}

TEST(RopeScaling, Llama31RotatesHighFrequencyPairsLikePlainRope) {
  Rotary plain(kD, kTheta), scaled(kD, kTheta, llama31());
  // The float32 frequencies the tables use: HF's rounding of the float64 values.
  const auto want = torch::tensor(elarin::nn::rope_inv_freq(kD, kTheta, llama31()), torch::kDouble);
  const double freq_diff =
      ((scaled.inv_freq().to(torch::kDouble) - want).abs() / want).max().item<double>();
  std::printf("  float32 inv_freq vs float64: max rel diff %.3e (tol 1e-7)\n", freq_diff);
  EXPECT_LE(freq_diff, 1e-7);
  auto [pc, ps] = plain.tables(0, 16, torch::kCPU);  // (16, 128)
  auto [sc, ss] = scaled.tables(0, 16, torch::kCPU);
  for (int64_t half : {int64_t(0), kD / 2}) {  // each pair's column appears twice (cat(freqs, freqs))
    EXPECT_TRUE(torch::equal(sc.narrow(1, half, 29), pc.narrow(1, half, 29)));
    EXPECT_TRUE(torch::equal(ss.narrow(1, half, 29), ps.narrow(1, half, 29)));
  }
  // The low-frequency pairs turn 8 times slower: sin at position 15 of pair 40.
  const double f40 = 1.0 / std::pow(kTheta, 80.0 / kD);
  EXPECT_NEAR(ss[15][40].item<double>(), std::sin(15 * f40 / 8), 1e-7);
  EXPECT_GT(std::abs(ss[15][40].item<double>() - ps[15][40].item<double>()), 1e-3);
}

TEST(RopeScaling, LinearAtPositionPIsPlainAtPOverFactor) {
  RopeScaling s;
  s.type = "linear";
  s.factor = 2.5;
  const int64_t D = 32;
  Rotary plain(D, 10000.0), scaled(D, 10000.0, s);
  auto [sc, ss] = scaled.tables(0, 101, torch::kCPU);  // positions 0 .. 100
  auto [pc, ps] = plain.tables(0, 41, torch::kCPU);    // positions 0 .. 40
  // Position 5m scaled = position 2m plain.
  auto idx_s = torch::arange(0, 101, 5, torch::kLong),
       idx_p = torch::arange(0, 41, 2, torch::kLong);
  const double d_cos =
      (sc.index_select(0, idx_s) - pc.index_select(0, idx_p)).abs().max().item<double>();
  const double d_sin =
      (ss.index_select(0, idx_s) - ps.index_select(0, idx_p)).abs().max().item<double>();
  std::printf("  linear x2.5 at 5m vs plain at 2m: max diff cos %.3e sin %.3e (tol 2e-5)\n", d_cos,
              d_sin);
  EXPECT_LE(d_cos, 2e-5);
  EXPECT_LE(d_sin, 2e-5);
  // And between the integer positions: cos(p / 2.5 * f_i) in float64.
  auto f = torch::tensor(elarin::nn::rope_inv_freq(D, 10000.0), torch::kDouble);
  auto want = torch::cos(torch::outer(torch::arange(101, torch::kDouble) / 2.5, f));
  const double d = (sc.narrow(1, 0, D / 2).to(torch::kDouble) - want).abs().max().item<double>();
  std::printf("  linear x2.5 vs cos(p / 2.5 * f): max diff %.3e (tol 2e-5)\n", d);
  EXPECT_LE(d, 2e-5);
  EXPECT_GT((sc.narrow(0, 0, 41) - pc).abs().max().item<double>(), 0.1);  // it does scale
}

TEST(RopeScaling, BadSettingsAreNamed) {
  RopeScaling s;
  s.type = "yarn";
  auto msg =
      elarin::test::error_message<elarin::UsageError>([&] { s.validate("lm.model.rope_scaling"); });
  EXPECT_NE(msg.find("lm.model.rope_scaling.type: got 'yarn'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("default, linear, llama3"), std::string::npos) << msg;
  msg = elarin::test::error_message<elarin::UsageError>(
      [&] { elarin::nn::rope_inv_freq(8, 1e4, s); });
  EXPECT_NE(msg.find("'yarn'"), std::string::npos) << msg;
  s = llama31();
  s.high_freq_factor = 1;
  msg = elarin::test::error_message<elarin::UsageError>([&] { Rotary r(8, 1e4, s); });
  EXPECT_NE(msg.find("rope_scaling.high_freq_factor: got 1, expected > low_freq_factor"),
            std::string::npos)
      << msg;
  s = llama31();
  s.factor = 0;
  msg = elarin::test::error_message<elarin::UsageError>([&] { s.validate("x"); });
  EXPECT_NE(msg.find("x.factor: got 0"), std::string::npos) << msg;
}

}  // namespace
