// `conv1d` expert: a row viewed as (C, L) with C = channels, L = d_in / C; Conv1d(C, hidden,
// 3) -> [BatchNorm] -> GELU -> Conv1d(hidden, C_out, 3) with C_out = d_out / L, same padding, so
// the length is kept. Leaves out strides and pooling.
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/expert.hpp"

namespace elarin::nn {
namespace {

class Conv1dExpert : public ExpertImpl {
 public:
  Conv1dExpert(const ExpertSpec& s, int64_t length)
      : channels_(s.channels), length_(length), dropout_(s.dropout) {
    conv1 = register_module(
        "conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(s.channels, s.hidden, 3).padding(1)));
    conv2 = register_module(
        "conv2",
        torch::nn::Conv1d(torch::nn::Conv1dOptions(s.hidden, s.d_out / length, 3).padding(1)));
    if (s.norm) bn1 = register_module("bn1", torch::nn::BatchNorm1d(s.hidden));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = conv1(x.view({x.size(0), channels_, length_}));  // (N, hidden, L)
    if (bn1) h = bn1(h);
    h = torch::gelu(h);
    if (dropout_ > 0) h = torch::dropout(h, dropout_, is_training());
    return conv2(h).flatten(1);  // (N, C_out * L)
  }
  std::string type() const override { return "conv1d"; }

 private:
  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm1d bn1{nullptr};
  int64_t channels_, length_;
  double dropout_;
};

}  // namespace

static ExpertPtr make_conv1d_expert(const ExpertSpec& s) {
  if (s.hidden < 1)
    throw UsageError("conv1d expert: hidden must be >= 1, got " + std::to_string(s.hidden));
  if (s.channels < 1 || s.d_in % s.channels != 0)
    throw UsageError("conv1d expert: d_in " + std::to_string(s.d_in) +
                     " must be a multiple of channels " + std::to_string(s.channels));
  const int64_t length = s.d_in / s.channels;
  if (s.d_out % length != 0)
    throw UsageError("conv1d expert: d_out " + std::to_string(s.d_out) +
                     " must be a multiple of the length " + std::to_string(length));
  return std::make_shared<Conv1dExpert>(s, length);
}

// The table entry (expert_registry.cpp lists it).
ExpertType conv1d_expert_type() {
  return {"conv1d", "two 1-D convolutions over a row viewed as (channels, length)",
          &make_conv1d_expert};
}

}  // namespace elarin::nn
