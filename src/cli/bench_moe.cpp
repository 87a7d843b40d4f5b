// `elarin bench moe`: training-step time of the MoE core with sparse (grouped) dispatch
// against dense dispatch (every expert on every row, masked), same weights, same inputs,
// interleaved rounds in the same run; reports medians and their ratio.
#include <torch/torch.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench_moe.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/nn/fused_adamw.hpp"
#include "elarin/nn/moe/moe_core.hpp"

namespace elarin::cli {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One training step: forward, a squared-output loss plus the aux loss, backward, and AdamW
// unless `opt` is null.
void train_step(nn::MoECore& core, nn::FusedAdamW* opt, const torch::Tensor& x) {
  for (auto& p : core->parameters()) p.mutable_grad().reset();
  auto out = core->forward(x);
  auto loss = out.y.pow(2).mean() + out.aux_loss;
  loss.backward();
  if (opt) opt->step();
}

}  // namespace

nlohmann::json bench_moe(const BenchMoEOptions& o) {
  nn::MoEConfig cfg;
  cfg.d_model = o.d_model;
  cfg.d_out = o.d_model;
  cfg.expert_hidden = o.hidden;
  cfg.expert_count = o.experts;
  cfg.active_experts = o.experts;
  cfg.top_k = o.top_k;
  torch::manual_seed(0);
  cfg.dispatch = "sparse";
  nn::MoECore sparse(cfg);
  cfg.dispatch = "dense";
  nn::MoECore dense(cfg);
  {
    torch::NoGradGuard no_grad;
    auto src = sparse->named_parameters(true);
    for (auto& p : dense->named_parameters(true)) p.value().copy_(src[p.key()]);
  }
  auto x = torch::randn({o.batch, o.d_model});
  double max_diff = (sparse->forward(x).y - dense->forward(x).y).abs().max().item<double>();
  nn::FusedAdamW opt_s(sparse->parameters(), {1e-4});
  nn::FusedAdamW opt_d(dense->parameters(), {1e-4});
  for (int i = 0; i < 3; ++i) {  // warm-up: allocator, thread pool, BLAS buffers
    train_step(sparse, &opt_s, x);
    train_step(dense, &opt_d, x);
  }
  std::vector<double> ts, td, fs, fd;
  auto time_steps = [&](nn::MoECore& core, nn::FusedAdamW* opt) {
    const double s = seconds_of([&] {
      for (int i = 0; i < o.steps; ++i) train_step(core, opt, x);
    });
    return 1e3 * s / o.steps;  // ms a step
  };
  for (int r = 0; r < o.rounds; ++r) {  // interleaved, so drifts in machine load hit both
    ts.push_back(time_steps(sparse, &opt_s));
    td.push_back(time_steps(dense, &opt_d));
    fs.push_back(time_steps(sparse, nullptr));
    fd.push_back(time_steps(dense, nullptr));
  }
  const double ms_s = median(ts), ms_d = median(td), fb_s = median(fs), fb_d = median(fd);
  std::cout << "moe step (" << o.experts << " experts, top-" << o.top_k << ", batch " << o.batch
            << ", d " << o.d_model << ", hidden " << o.hidden << "): sparse " << ms_s
            << " ms, dense " << ms_d << " ms, ratio " << ms_s / ms_d
            << "; forward+backward only: sparse " << fb_s << " ms, dense " << fb_d << " ms, ratio "
            << fb_s / fb_d << " (max |y_sparse - y_dense| = " << max_diff << ")\n";
  return {{"experts", o.experts},       {"top_k", o.top_k},         {"batch", o.batch},
          {"d_model", o.d_model},       {"hidden", o.hidden},       {"sparse_ms", ms_s},
          {"dense_ms", ms_d},           {"ratio", ms_s / ms_d},     {"rounds", o.rounds},
          {"fwd_bwd_sparse_ms", fb_s},  {"fwd_bwd_dense_ms", fb_d}, {"fwd_bwd_ratio", fb_s / fb_d},
          {"steps_per_round", o.steps}, {"max_abs_diff", max_diff}};
}

}  // namespace elarin::cli
