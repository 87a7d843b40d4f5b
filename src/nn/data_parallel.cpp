// Data parallelism across CPU threads (see the header).
#include "elarin/nn/data_parallel.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

namespace elarin::nn {

std::vector<Shard> split_rows(int64_t rows, int64_t max_shards) {
  TORCH_CHECK(rows >= 1 && max_shards >= 1, "split_rows: need rows >= 1 and shards >= 1, got ",
              rows, " and ", max_shards);
  const int64_t n = std::min(rows, max_shards);
  std::vector<Shard> out;
  for (int64_t s = 0; s < n; ++s) {
    const int64_t b = rows * s / n, e = rows * (s + 1) / n;
    out.push_back({s, b, e - b});
  }
  return out;
}

void run_shards(const std::vector<Shard>& shards, const std::function<void(const Shard&)>& f) {
  const auto n = static_cast<int64_t>(shards.size());
  if (n == 1) {
    f(shards[0]);  // one shard keeps ATen's intra-op threads
    return;
  }
  at::parallel_for(0, n, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) f(shards[static_cast<size_t>(s)]);
  });
}

void accumulate_grads(const std::vector<torch::Tensor>& params,
                      const std::vector<std::vector<torch::Tensor>>& grads) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < params.size(); ++k) {
    // Out of place: autograd may hand the same tensor to two parameters (an add's inputs),
    // so a shard's gradient is never modified or kept as a .grad itself.
    torch::Tensor sum;
    int contributions = 0;
    for (const auto& g : grads) {
      if (k >= g.size() || !g[k].defined()) continue;
      sum = sum.defined() ? sum + g[k] : g[k];
      ++contributions;
    }
    if (!sum.defined()) continue;
    auto& dst = const_cast<torch::Tensor&>(params[k]).mutable_grad();
    if (dst.defined())
      dst.add_(sum);
    else
      dst = contributions == 1 ? sum.clone() : sum;
  }
}

}  // namespace elarin::nn
