// `conv2d` expert: a row viewed as a square map (C, H, H), C = channels; 3x3 conv to hidden
// channels -> 2x2 max-pool -> [BatchNorm] -> GELU -> 3x3 conv -> [BatchNorm] -> GELU,
// flattened: d_out = hidden * (H/2)^2. The image experts of `train moe --experts conv`.
// Pooling before the activation does the elementwise work on a quarter of the map (for a
// monotone activation the result is the same; GELU is monotone above -0.75).
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/expert.hpp"

namespace elarin::nn {
namespace {

class Conv2dExpert : public ExpertImpl {
 public:
  Conv2dExpert(const ExpertSpec& s, int64_t side)
      : channels_(s.channels), side_(side), dropout_(s.dropout) {
    conv1 = register_module(
        "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.channels, s.hidden, 3).padding(1)));
    conv2 = register_module(
        "conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.hidden, s.hidden, 3).padding(1)));
    if (s.norm) {
      bn1 = register_module("bn1", torch::nn::BatchNorm2d(s.hidden));
      bn2 = register_module("bn2", torch::nn::BatchNorm2d(s.hidden));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = x.view({x.size(0), channels_, side_, side_});  // (N, C, H, H)
    h = torch::max_pool2d(conv1(h), 2);                     // (N, hidden, H/2, H/2)
    if (bn1) h = bn1(h);
    h = torch::gelu(h);
    if (dropout_ > 0) h = torch::dropout(h, dropout_, is_training());
    h = conv2(h);
    if (bn2) h = bn2(h);
    return torch::gelu(h).flatten(1);  // (N, hidden * (H/2)^2)
  }
  std::string type() const override { return "conv2d"; }

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  int64_t channels_, side_;
  double dropout_;
};

}  // namespace

static ExpertPtr make_conv2d_expert(const ExpertSpec& s) {
  if (s.hidden < 1)
    throw UsageError("conv2d expert: hidden must be >= 1, got " + std::to_string(s.hidden));
  const int64_t area = s.channels > 0 && s.d_in % s.channels == 0 ? s.d_in / s.channels : 0;
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(area))));
  if (area == 0 || side * side != area || side % 2 != 0)
    throw UsageError("conv2d expert: d_in " + std::to_string(s.d_in) + " must be channels " +
                     std::to_string(s.channels) + " x H x H with an even H");
  const int64_t out = s.hidden * (side / 2) * (side / 2);
  if (s.d_out != out)
    throw UsageError("conv2d expert: d_out must be hidden * (H/2)^2 = " + std::to_string(out) +
                     ", got " + std::to_string(s.d_out));
  return std::make_shared<Conv2dExpert>(s, side);
}

// The table entry (expert_registry.cpp lists it).
ExpertType conv2d_expert_type() {
  return {"conv2d", "3x3 conv, 2x2 max-pool, 3x3 conv over a row viewed as (channels, H, W)",
          &make_conv2d_expert};
}

}  // namespace elarin::nn
