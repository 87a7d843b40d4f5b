// PhasorBank: the [cos | sin] features of learned oscillators, against a reference formula,
// and that training reaches the frequencies and phases.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/phasor_bank.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::nn::PhasorBank;
using elarin::test::max_abs_diff;

TEST(PhasorBank, FeaturesAreUnitPhasors) {
  torch::manual_seed(0);
  PhasorBank bank(12, 5);
  auto f = bank(torch::randn({7, 12}) * 4);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{7, 10}));
  EXPECT_TRUE(f.abs().le(1.0).all().item<bool>()) << "max |f| " << f.abs().max().item<double>();
  auto c = f.narrow(1, 0, 5), s = f.narrow(1, 5, 5);
  auto norm = c * c + s * s;
  const double d = max_abs_diff(norm, torch::ones_like(norm));
  EXPECT_LE(d, 1e-6) << "cos^2 + sin^2 vs 1, max diff " << d;
}

TEST(PhasorBank, MatchesTheReferenceFormulaAtAnyTime) {
  torch::manual_seed(1);
  PhasorBank bank(6, 4, 0.5, 2.0);
  auto x = torch::randn({5, 6});
  torch::NoGradGuard no_grad;
  for (double t : {0.0, 3.0}) {
    auto z = torch::matmul(x, bank->drive->weight.t()) + bank->drive->bias + t;  // (N, O)
    auto angle = z * torch::exp(bank->log_freq) + bank->phase;
    auto want = torch::cat({torch::cos(angle), torch::sin(angle)}, 1);
    const double d = max_abs_diff(bank(x, t), want);
    EXPECT_LE(d, 1e-5) << "t = " << t << ", max diff " << d;
  }
  EXPECT_FALSE(torch::equal(bank(x, 0.0), bank(x, 3.0))) << "time does not move the phasors";
  // Frequencies start log-spaced over [min_freq, max_freq]; phases in [0, 2 pi).
  auto freq = torch::exp(bank->log_freq);
  EXPECT_NEAR(freq[0].item<double>(), 0.5, 1e-5);
  EXPECT_NEAR(freq[3].item<double>(), 2.0, 1e-5);
  EXPECT_TRUE(bank->phase.ge(0).all().item<bool>());
  EXPECT_TRUE(bank->phase.lt(2 * M_PI).all().item<bool>());
}

TEST(PhasorBank, GradientReachesFrequencyPhaseAndDrive) {
  torch::manual_seed(2);
  PhasorBank bank(8, 3);
  auto f = bank(torch::randn({10, 8}), 1.5);
  (f * torch::randn_like(f)).sum().backward();
  for (const auto& p : bank->named_parameters(true)) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  EXPECT_EQ(bank->named_parameters(true).size(), 4u);  // drive.weight, drive.bias, log_freq, phase
}

TEST(PhasorBank, RejectsBadArguments) {
  EXPECT_THROW(PhasorBank(0, 4), elarin::UsageError);
  EXPECT_THROW(PhasorBank(4, 0), elarin::UsageError);
  EXPECT_THROW(PhasorBank(4, 4, 0.0, 1.0), elarin::UsageError);
  EXPECT_THROW(PhasorBank(4, 4, 2.0, 1.0), elarin::UsageError);
}

}  // namespace
