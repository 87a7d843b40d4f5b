// Helpers shared by the regions that hold a torch module (retina, cochlea, wernicke): the
// module's parameters as a region's state under a prefix, loaded validate-then-copy, and the
// two-view contrastive loss their unlabeled development uses. Internal to regions/.
#pragma once

#include <torch/torch.h>

#include <string>

#include "elarin/brain/region.hpp"

namespace elarin::regions {

// Adds every parameter of `m` to `st` as "<prefix>.<name>" (detached copies).
void add_module_state(brain::RegionState& st, const std::string& prefix,
                      const torch::nn::Module& m);
// Throws FormatError naming the tensor unless `st` holds every parameter of `m` as
// "<prefix>.<name>", float32 of its shape. Changes nothing.
void check_module_state(const brain::RegionState& st, const std::string& prefix,
                        const torch::nn::Module& m);
// Copies the checked tensors into `m`'s parameters (call check_module_state first).
void copy_module_state(const brain::RegionState& st, const std::string& prefix,
                       torch::nn::Module& m);

// SimCLR's InfoNCE on two views: z (2B, D) unit rows, row i and row i + B of one sample.
// Each row must pick its other view among the other 2B - 1 rows; `tau` the temperature.
torch::Tensor two_view_info_nce(const torch::Tensor& z, double tau);

}  // namespace elarin::regions
