// PhasorBank: frequencies initialised log-uniformly in [min_freq, max_freq], phases uniform.
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/phasor_bank.hpp"

namespace elarin::nn {

PhasorBankImpl::PhasorBankImpl(int64_t d_in, int64_t oscillators, double min_freq, double max_freq)
    : oscillators_(oscillators) {
  if (d_in < 1 || oscillators < 1 || min_freq <= 0 || max_freq < min_freq)
    throw UsageError("PhasorBank: need d_in >= 1, oscillators >= 1 and 0 < min_freq <= max_freq");
  drive = register_module("drive", torch::nn::Linear(torch::nn::LinearOptions(d_in, oscillators)));
  log_freq = register_parameter(
      "log_freq", torch::linspace(std::log(min_freq), std::log(max_freq), oscillators));
  phase = register_parameter("phase", torch::rand({oscillators}) * (2 * M_PI));
}

torch::Tensor PhasorBankImpl::forward(const torch::Tensor& x, double t) {
  auto z = drive(x) + t;                                                    // (N, O)
  auto angle = z * torch::exp(log_freq).unsqueeze(0) + phase.unsqueeze(0);  // (N, O)
  return torch::cat({torch::cos(angle), torch::sin(angle)}, 1);             // (N, 2 O)
}

}  // namespace elarin::nn
