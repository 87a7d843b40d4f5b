// Routing analytics of the MoE core, accumulated over an epoch: utilisation per expert,
// gate entropy, per-expert routed accuracy, thalamic magnitude, max/min load ratio. Gives one
// readable line and the values for MetricsLog / TensorBoard. Leaves out plotting.
//
//   #include "elarin/nn/moe/moe_core.hpp"
//   elarin::nn::MoEConfig cfg;  // 8 experts, d_model 256
//   elarin::nn::MoECore core(cfg);
//   elarin::nn::RoutingStats stats(core->capacity());
//   auto out = core->forward(torch::randn({32, 256}));
//   stats.add(out);  // per batch; + routed_correct (N, k) bool for per-expert accuracy
//   std::string line = stats.line(core->available());          // one readable line
//   auto values = stats.values("train/", core->available());  // for MetricsLog / TensorBoard
#pragma once

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace elarin::nn {

struct MoEOutput;

class RoutingStats {
 public:
  explicit RoutingStats(int64_t experts);
  void add(const MoEOutput& out, const torch::Tensor& routed_correct = {});

  int64_t rows() const { return rows_; }
  std::vector<double> utilization() const;      // share of routed slots per expert (sums to 1)
  std::vector<double> routed_accuracy() const;  // per expert; NaN where never routed
  double gate_entropy() const;                  // mean entropy of the gate distribution (nats)
  // gate_entropy / log(available): 1 = uniform over the available experts, 0 = one-hot.
  double gate_entropy_norm(int64_t available) const;
  double thalamic_magnitude() const;  // mean |thalamic bias|
  // max load / min load over the available experts (inf if one got nothing).
  double load_ratio(const std::vector<int64_t>& available) const;

  std::string line(const std::vector<int64_t>& available) const;
  // {prefix + "gate_entropy", ...}, plus prefix + "util/<e>" and "routed_acc/<e>" per expert.
  std::vector<std::pair<std::string, double>> values(const std::string& prefix,
                                                     const std::vector<int64_t>& available) const;

 private:
  int64_t experts_, rows_ = 0;
  std::vector<double> routed_, correct_;
  double entropy_sum_ = 0, thalamic_sum_ = 0;
};

}  // namespace elarin::nn
