// AdamW (Loshchilov & Hutter) as one pass over each float32 parameter, split across threads:
// LibTorch 1.13's AdamW makes ~8 passes with temporaries, which took a third of a sparse MoE
// step (bench moe). Same update and defaults as torch::optim::AdamW; a parameter whose grad
// is undefined is skipped entirely (no decay, no moment update), as in torch. Other dtypes
// or devices fall back to tensor ops. Leaves out amsgrad and param groups.
//
//   torch::nn::Linear model(64, 10);
//   elarin::nn::AdamWOptions o;
//   o.lr = 1e-3;  o.weight_decay = 1e-4;
//   elarin::nn::FusedAdamW opt(model->parameters(), o);
//   auto loss = model(torch::randn({8, 64})).pow(2).mean();
//   loss.backward();  opt.step();  opt.zero_grad();  opt.set_lr(5e-4);
#pragma once

#include <torch/types.h>

#include <vector>

namespace elarin::nn {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

class FusedAdamW {
 public:
  FusedAdamW(std::vector<torch::Tensor> params, const AdamWOptions& options);
  void step();
  void set_lr(double lr) { options_.lr = lr; }
  double lr() const { return options_.lr; }
  // Sets every grad to undefined (LibTorch 1.13's zero_grad() zero-fills instead).
  void zero_grad();
  const std::vector<torch::Tensor>& params() const { return params_; }
  int64_t step_count(size_t i) const { return steps_[i]; }
  const torch::Tensor& exp_avg(size_t i) const { return m_[i]; }
  const torch::Tensor& exp_avg_sq(size_t i) const { return v_[i]; }
  // Restores parameter i's state (a resumed run): step count and both moments, which must
  // have the parameter's shape (c10::Error otherwise).
  void set_state(size_t i, int64_t step, const torch::Tensor& exp_avg,
                 const torch::Tensor& exp_avg_sq);

 private:
  std::vector<torch::Tensor> params_, m_, v_;
  std::vector<int64_t> steps_;
  AdamWOptions options_;
};

}  // namespace elarin::nn
