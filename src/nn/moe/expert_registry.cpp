// The expert type table and the helpers every expert type shares. Each expert file
// (experts/<type>_expert.cpp) defines its entry, `ExpertType <type>_expert_type()`; a new
// type is that file plus one word in the list below (the table's order).
#include <torch/torch.h>

#include "elarin/core/find_named.hpp"
#include "elarin/nn/moe/expert.hpp"

namespace elarin::nn {

#define ELARIN_EXPERT_TYPES(X) X(mlp) X(conv1d) X(conv2d) X(swiglu)

#define ELARIN_DECLARE_TYPE(name) ExpertType name##_expert_type();
ELARIN_EXPERT_TYPES(ELARIN_DECLARE_TYPE)
#undef ELARIN_DECLARE_TYPE

const std::vector<ExpertType>& expert_type_table() {
#define ELARIN_TYPE_ROW(name) name##_expert_type(),
  static const std::vector<ExpertType> table = {ELARIN_EXPERT_TYPES(ELARIN_TYPE_ROW)};
#undef ELARIN_TYPE_ROW
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
