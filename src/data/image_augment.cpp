// Random affine + noise augmentation (see the header).
#include "elarin/data/image_augment.hpp"

#include <torch/torch.h>

namespace elarin {

torch::Tensor ImageAugment::operator()(const torch::Tensor& images, at::Generator& gen) const {
  TORCH_CHECK(images.dim() == 4, "ImageAugment: expected (B, C, H, W), got ", images.sizes());
  const int64_t B = images.size(0);
  auto uniform = [&](double m) { return (torch::rand({B}, gen) * 2 - 1) * m; };
  auto angle = uniform(max_rotation);
  auto scale = 1 + uniform(max_scale);
  auto tx = uniform(max_shift), ty = uniform(max_shift);
  auto c = torch::cos(angle) / scale, s = torch::sin(angle) / scale;
  // theta (B, 2, 3): output coordinates -> input coordinates, as affine_grid expects.
  auto theta = torch::stack({torch::stack({c, -s, tx}, 1), torch::stack({s, c, ty}, 1)}, 1);
  namespace F = torch::nn::functional;
  auto grid = F::affine_grid(theta, images.sizes().vec(), false);
  auto warped = F::grid_sample(images, grid, F::GridSampleFuncOptions().align_corners(false));
  if (noise > 0) warped = warped + torch::randn(warped.sizes(), gen) * noise;
  return warped.clamp(0, 1);
}

}  // namespace elarin
