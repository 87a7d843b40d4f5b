// Data parallelism across the CPU threads of one process: a batch's rows split into one
// shard per thread, each shard's forward and backward run on its own OpenMP thread (ATen runs
// the ops inside single-threaded, since they sit in a parallel region), and the shards'
// gradients are summed in shard order, so a run is reproducible for a given thread count.
// On small models this beats splitting every op over the threads: each op is too small to
// share well, and one thread per shard never waits on the other. Leaves out multi-process
// and multi-device training.
//
//   torch::nn::Linear model(64, 10);
//   torch::Tensor x = torch::randn({256, 64}), y = torch::randint(10, {256});
//   std::vector<torch::Tensor> params = model->parameters();
//   auto shards = elarin::nn::split_rows(x.size(0), at::get_num_threads());
//   std::vector<std::vector<torch::Tensor>> grads(shards.size());
//   elarin::nn::run_shards(shards, [&](const elarin::nn::Shard& s) {
//     auto logits = model(x.narrow(0, s.begin, s.size));  // this shard's rows
//     auto loss = torch::cross_entropy_loss(logits, y.narrow(0, s.begin, s.size)) *
//                 (static_cast<double>(s.size) / x.size(0));  // weighted by its share
//     grads[s.index] = torch::autograd::grad({loss}, params, {}, false, false, true);
//   });
//   elarin::nn::accumulate_grads(params, grads);  // p.grad += sum over shards
#pragma once

#include <torch/types.h>

#include <functional>
#include <vector>

namespace elarin::nn {

struct Shard {
  int64_t index = 0;  // 0 .. shards - 1
  int64_t begin = 0;  // first row
  int64_t size = 0;   // rows
};

// Rows 0 .. rows-1 in min(rows, max_shards) contiguous shards whose sizes differ by at most 1.
std::vector<Shard> split_rows(int64_t rows, int64_t max_shards);

// Runs f on every shard, shards in parallel on OpenMP threads (ATen's pool). The first
// exception thrown by any shard is rethrown here.
void run_shards(const std::vector<Shard>& shards, const std::function<void(const Shard&)>& f);

// params[k].grad += grads[0][k] + grads[1][k] + ... (in shard order); undefined gradients
// (parameters a shard did not use) are skipped.
void accumulate_grads(const std::vector<torch::Tensor>& params,
                      const std::vector<std::vector<torch::Tensor>>& grads);

}  // namespace elarin::nn
