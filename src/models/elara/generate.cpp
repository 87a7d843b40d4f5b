// Autoregressive decoding with a KV cache (see the header).
#include "elarin/models/elara/generate.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"

namespace elarin::models {

namespace {

// The checks both decoders share; returns the prompt as contiguous int64.
torch::Tensor checked_prompt(ElaraModel& model, const torch::Tensor& prompt,
                             const GenerateOptions& o) {
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
  return prompt.to(torch::kLong).contiguous();
}

// Sampling distribution of one position's logits (V): softmax(logits / T) over the top_k.
torch::Tensor distribution(const torch::Tensor& logits, const GenerateOptions& o) {
  auto scaled = logits.to(torch::kFloat) / o.temperature;
  if (o.top_k > 0 && o.top_k < scaled.size(0)) {
    auto kth = std::get<0>(scaled.topk(o.top_k)).min();
    scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
  }
  return torch::softmax(scaled, 0);
}

int64_t pick(const torch::Tensor& logits, const GenerateOptions& o, at::Generator& gen) {
  if (o.temperature == 0) return logits.argmax().item<int64_t>();
  return torch::multinomial(distribution(logits, o), 1, false, gen).item<int64_t>();
}

// Restores training mode on scope exit.
struct EvalScope {
  ElaraModel& m;
  bool was;
  explicit EvalScope(ElaraModel& model) : m(model), was(model->is_training()) { m->eval(); }
  ~EvalScope() {
    if (was) m->train();
  }
};

}  // namespace

torch::Tensor generate(ElaraModel& model, const torch::Tensor& prompt, const GenerateOptions& o) {
  const auto ids = checked_prompt(model, prompt, o);
  torch::NoGradGuard no_grad;
  EvalScope scope(model);
  auto gen = at::detail::createCPUGenerator(o.seed);
  ElaraKVCache cache;
  std::vector<int64_t> out(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.size(1));
  auto logits = model->forward(ids, &cache).logits;
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    const int64_t next = pick(logits[0][logits.size(1) - 1], o, gen);
    out.push_back(next);
    if (i + 1 < o.max_new_tokens)
      logits = model->forward(torch::tensor({{next}}, torch::kLong), &cache).logits;
  }
  return torch::tensor(out, torch::kLong).unsqueeze(0);
}

torch::Tensor generate_draft(ElaraModel& model, const torch::Tensor& prompt,
                             const GenerateOptions& o, DraftStats* stats) {
  const auto& c = model->config();
  if (!c.use_diffusion_head)
    throw UsageError("draft-and-verify decoding needs a model trained with a diffusion head "
                     "(lm.model.use_diffusion_head: true)");
  const auto ids = checked_prompt(model, prompt, o);
  torch::NoGradGuard no_grad;
  EvalScope scope(model);
  auto gen = at::detail::createCPUGenerator(o.seed);
  DraftStats st;
  ElaraKVCache cache;
  std::vector<int64_t> out(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.size(1));
  const size_t target = out.size() + static_cast<size_t>(o.max_new_tokens);
  auto logits = model->forward(ids, &cache).logits;
  int64_t certain = pick(logits[0][logits.size(1) - 1], o, gen);  // next token, not in cache
  std::vector<int64_t> drafts;
  torch::Tensor draft_q;  // (j, V) the drafts' distributions (sampling)
  const int64_t k = c.draft_len;
  while (out.size() < target) {
    // One pass: [certain, drafts...] then masks, as many as the context holds.
    const int64_t base = cache.length();
    int64_t room = c.block_size - base - 1;
    if (static_cast<int64_t>(drafts.size()) > room) drafts.resize(static_cast<size_t>(room));
    room -= static_cast<int64_t>(drafts.size());
    const int64_t n_mask = std::min(k, std::max<int64_t>(room, 0));
    std::vector<int64_t> input = {certain};
    input.insert(input.end(), drafts.begin(), drafts.end());
    auto res = model->forward(torch::tensor(input, torch::kLong).unsqueeze(0), &cache, false,
                              n_mask >= 2 ? n_mask : 0);
    ++st.passes;
    const auto ar = res.logits[0];  // (1 + j, V): row i predicts the token after input[i]
    const int64_t j = static_cast<int64_t>(drafts.size());
    st.proposed += j;
    int64_t m = 0;
    int64_t next = -1;
    for (; m < j; ++m) {
      const int64_t d = drafts[static_cast<size_t>(m)];
      if (o.temperature == 0) {
        const int64_t a = ar[m].argmax().item<int64_t>();
        if (a != d) {
          next = a;
          break;
        }
      } else {
        // Speculative sampling: keep d with probability min(1, p(d) / q(d)); on rejection
        // draw from max(0, p - q) renormalised, which keeps the output distribution p.
        auto p = distribution(ar[m], o), q = draft_q[m];
        const double ratio = p[d].item<double>() / std::max(q[d].item<double>(), 1e-30);
        if (torch::rand({1}, gen).item<double>() >= ratio) {
          auto residual = (p - q).clamp_min(0);
          const double mass = residual.sum().item<double>();
          next = mass > 0 ? torch::multinomial(residual / mass, 1, false, gen).item<int64_t>()
                          : torch::multinomial(p, 1, false, gen).item<int64_t>();
          break;
        }
      }
    }
    st.accepted += m;
    out.push_back(certain);
    for (int64_t i = 0; i < m && out.size() < target; ++i)
      out.push_back(drafts[static_cast<size_t>(i)]);
    if (next < 0) next = pick(ar[m], o, gen);  // all drafts kept: the AR head's own next
    cache.truncate(base + 1 + m);              // drop rejected drafts and the masks
    certain = next;
    drafts.clear();
    if (m == j && n_mask >= 2) {
      // The masks saw only verified tokens. Mask 0 stands where `certain` goes (the AR head
      // decided it); masks 1.. draft the tokens after it.
      const auto dl = res.draft_logits[0];  // (n_mask, V)
      std::vector<torch::Tensor> qs;
      for (int64_t i = 1; i < n_mask; ++i) {
        if (o.temperature == 0) {
          drafts.push_back(dl[i].argmax().item<int64_t>());
        } else {
          qs.push_back(distribution(dl[i], o));
          drafts.push_back(torch::multinomial(qs.back(), 1, false, gen).item<int64_t>());
        }
      }
      if (!qs.empty()) draft_q = torch::stack(qs);
    }
  }
  if (stats) *stats = st;
  out.resize(target);
  return torch::tensor(out, torch::kLong).unsqueeze(0);
}

}  // namespace elarin::models
