// The expert type table and the helpers every expert type shares.
#include <torch/torch.h>

#include "elarin/core/find_named.hpp"
#include "elarin/nn/moe/expert.hpp"

namespace elarin::nn {

const std::vector<ExpertType>& expert_type_table() {
  static const std::vector<ExpertType> table = {
      {"mlp", "Linear -> GELU -> Linear on a row", &make_mlp_expert},
      {"conv1d", "two 1-D convolutions over a row viewed as (channels, length)",
       &make_conv1d_expert},
      {"conv2d", "3x3 conv, 2x2 max-pool, 3x3 conv over a row viewed as (channels, H, W)",
       &make_conv2d_expert},
      {"swiglu", "Llama feed-forward: down(silu(gate(x)) * up(x)), no biases (LM experts)",
       &make_swiglu_expert},
  };
  return table;
}

ExpertPtr make_expert(const std::string& type, const ExpertSpec& spec) {
  return find_named(expert_type_table(), type, "expert type").make(spec);
}

void copy_expert(const ExpertImpl& from, ExpertImpl& to) {
  torch::NoGradGuard no_grad;
  auto src = from.named_parameters(true);
  auto dst = to.named_parameters(true);
  TORCH_CHECK(src.size() == dst.size(), "copy_expert: parameter count differs");
  for (const auto& item : src) dst[item.key()].copy_(item.value());
  auto src_b = from.named_buffers(true);
  auto dst_b = to.named_buffers(true);
  for (const auto& item : src_b) dst_b[item.key()].copy_(item.value());
}

}  // namespace elarin::nn
