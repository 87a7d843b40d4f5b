// PhasorBank: a bank of learned oscillators. Each oscillator i has a frequency w_i and a
// phase p_i (both trained) and reads a drive z_i = a_i . x; its phasor features are
// cos(w_i (z_i + t) + p_i) and sin(...), where t is a time/step index (0 for static inputs),
// so rows that drive an oscillator alike resonate alike. Leaves out coupled oscillators.
//
//   elarin::nn::PhasorBank bank(256, 16);
//   torch::Tensor x = torch::randn({8, 256});
//   auto f = bank(x);         // (N, 256) -> (N, 32): [cos | sin]
//   auto f_t = bank(x, 3.0);  // the same bank at time step 3
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace elarin::nn {

class PhasorBankImpl : public torch::nn::Module {
 public:
  PhasorBankImpl(int64_t d_in, int64_t oscillators, double min_freq = 0.1, double max_freq = 3.0);
  torch::Tensor forward(const torch::Tensor& x, double t = 0.0);  // (N, d_in) -> (N, 2 O)
  int64_t oscillators() const { return oscillators_; }

  torch::nn::Linear drive{nullptr};  // a_i . x
  torch::Tensor log_freq, phase;     // (O,) each; frequency = exp(log_freq) stays positive

 private:
  int64_t oscillators_;
};
TORCH_MODULE(PhasorBank);

}  // namespace elarin::nn
