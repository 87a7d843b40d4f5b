// Helpers shared by the nn tests: the max absolute difference of two tensors (printed by the
// numeric checks, as llm.c's check_tensor does) and a small, fast MoE configuration.
//
//   EXPECT_LE(elarin::test::max_abs_diff(a, b), 1e-5) << "max diff " << max_abs_diff(a, b);
#pragma once

#include <torch/torch.h>

#include <vector>

#include "elarin/nn/moe/moe_core.hpp"

namespace elarin::test {

// max |a - b| as a double; an undefined tensor counts as zeros of the other's shape.
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.defined() && !b.defined()) return 0.0;
  const auto x = a.defined() ? a.detach() : torch::zeros_like(b);
  const auto y = b.defined() ? b.detach() : torch::zeros_like(a);
  if (x.numel() == 0) return 0.0;
  return (x.to(torch::kDouble) - y.to(torch::kDouble)).abs().max().item<double>();
}

// Detached copies of a module's parameters, to compare before / after.
inline std::vector<torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

// True when every parameter of `m` equals the snapshot bit for bit.
inline bool same_as(const torch::nn::Module& m, const std::vector<torch::Tensor>& snap) {
  const auto params = m.parameters();
  if (params.size() != snap.size()) return false;
  for (size_t i = 0; i < params.size(); ++i)
    if (!torch::equal(params[i].detach(), snap[i])) return false;
  return true;
}

// 8 mlp experts 16 -> 8, top-2: small enough that every test stays well under a second.
inline elarin::nn::MoEConfig small_moe_config() {
  elarin::nn::MoEConfig c;
  c.d_model = 16;
  c.d_out = 8;
  c.expert_hidden = 16;
  c.expert_count = 8;
  c.active_experts = 8;
  c.top_k = 2;
  return c;
}

}  // namespace elarin::test
