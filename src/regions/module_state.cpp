// Module state and the two-view contrastive loss (see the header).
#include "regions/module_state.hpp"

namespace elarin::regions {

void add_module_state(brain::RegionState& st, const std::string& prefix,
                      const torch::nn::Module& m) {
  for (const auto& p : m.named_parameters())
    st[prefix + "." + p.key()] = p.value().detach().clone();
}

void check_module_state(const brain::RegionState& st, const std::string& prefix,
                        const torch::nn::Module& m) {
  for (const auto& p : m.named_parameters())
    brain::state_tensor(st, prefix + "." + p.key(), p.value().sizes().vec(), torch::kFloat);
}

void copy_module_state(const brain::RegionState& st, const std::string& prefix,
                       torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters()) p.value().copy_(st.at(prefix + "." + p.key()));
}

torch::Tensor two_view_info_nce(const torch::Tensor& z, double tau) {
  const int64_t b = z.size(0) / 2;
  auto sim = torch::mm(z, z.t()) / tau;                                      // (2B, 2B)
  sim = sim.masked_fill(torch::eye(2 * b, torch::kBool), -1e9);              // not itself
  auto target = torch::cat({torch::arange(b, 2 * b), torch::arange(0, b)});  // the other view
  return torch::nn::functional::cross_entropy(sim, target);
}

}  // namespace elarin::regions
