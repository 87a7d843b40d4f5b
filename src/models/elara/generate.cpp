// Autoregressive decoding with a KV cache (see the header).
#include "elarin/models/elara/generate.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"

namespace elarin::models {

torch::Tensor generate(ElaraModel& model, const torch::Tensor& prompt, const GenerateOptions& o) {
  const auto& c = model->config();
  if (prompt.dim() != 2 || prompt.size(0) != 1 || prompt.size(1) < 1)
    throw UsageError("generate: expected a prompt of shape (1, T) with T >= 1, got " +
                     c10::str(prompt.sizes()));
  const int64_t lo = prompt.min().item<int64_t>(), hi = prompt.max().item<int64_t>();  // ids
  if (lo < 0 || hi >= c.vocab_size)
    throw UsageError("generate: prompt id " + std::to_string(lo < 0 ? lo : hi) +
                     " is outside the vocabulary 0.." + std::to_string(c.vocab_size - 1));
  if (o.max_new_tokens < 0 || prompt.size(1) + o.max_new_tokens > c.block_size)
    throw UsageError("generate: " + std::to_string(prompt.size(1)) + " prompt tokens + " +
                     std::to_string(o.max_new_tokens) + " new ones exceed the context of " +
                     std::to_string(c.block_size) + " tokens (lm.model.block_size)");
  if (o.temperature < 0 || o.top_k < 0)
    throw UsageError("generate: temperature and top_k must be >= 0");
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  auto gen = at::detail::createCPUGenerator(o.seed);
  ElaraKVCache cache;
  const auto ids = prompt.to(torch::kLong).contiguous();
  std::vector<int64_t> out(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.size(1));
  auto logits = model->forward(ids, &cache).logits;
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    auto last = logits.select(1, logits.size(1) - 1).squeeze(0).to(torch::kFloat);  // (V)
    int64_t next;
    if (o.temperature == 0) {
      next = last.argmax().item<int64_t>();
    } else {
      auto scaled = last / o.temperature;
      if (o.top_k > 0 && o.top_k < scaled.size(0)) {
        auto kth = std::get<0>(scaled.topk(o.top_k)).min();
        scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
      }
      next = torch::multinomial(torch::softmax(scaled, 0), 1, false, gen).item<int64_t>();
    }
    out.push_back(next);
    if (i + 1 < o.max_new_tokens)
      logits = model->forward(torch::tensor({{next}}, torch::kLong), &cache).logits;
  }
  if (was_training) model->train();
  return torch::tensor(out, torch::kLong).unsqueeze(0);
}

}  // namespace elarin::models
