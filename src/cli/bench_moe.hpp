// `elarin bench moe` (src/cli/bench_moe.cpp): sparse against dense MoE dispatch.
#pragma once

#include <nlohmann/json.hpp>

namespace elarin::cli {

struct BenchMoEOptions {
  int64_t experts = 8;
  int64_t top_k = 2;
  int64_t batch = 256;
  int64_t d_model = 256;
  int64_t hidden = 1024;
  int steps = 10;  // training steps per timed round
  int rounds = 5;  // interleaved sparse/dense rounds; medians are reported
};

nlohmann::json bench_moe(const BenchMoEOptions& options);

}  // namespace elarin::cli
