// Random image augmentation for self-supervised (contrastive) training: a random affine
// warp (rotation, scale, translation) plus pixel noise, per image, from a seeded generator.
// Leaves out colour and crops (28x28 grayscale digits need neither).
//
//   elarin::ImageAugment aug;  // defaults suit MNIST-size digits
//   torch::Generator gen = at::detail::createCPUGenerator(/*seed=*/1);
//   torch::Tensor images = torch::rand({32, 1, 28, 28});  // (B, 1, H, W) in [0, 1]
//   torch::Tensor view = aug(images, gen);                 // same shape
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace elarin {

struct ImageAugment {
  double max_rotation = 0.25;  // radians, uniform in [-max, max]
  double max_scale = 0.12;     // scale uniform in [1 - max, 1 + max]
  double max_shift = 0.2;      // translation as a fraction of half the image side
  double noise = 0.05;         // std of added Gaussian pixel noise
  torch::Tensor operator()(const torch::Tensor& images, at::Generator& gen) const;
};

}  // namespace elarin
