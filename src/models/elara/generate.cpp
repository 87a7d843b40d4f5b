// Autoregressive and draft-and-verify decoding (see the header).
#include "elarin/models/elara/generate.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <algorithm>

#include "elarin/core/errors.hpp"
#include "elarin/models/elara/decoder.hpp"

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

// The first index of the largest value of a contiguous float row (torch's argmax), read
// directly: at batch 1 an ATen argmax + item costs more than the row holds.
int64_t argmax_row(const torch::Tensor& row) {
  const float* v = row.data_ptr<float>();
  int64_t best = 0;
  for (int64_t i = 1; i < row.numel(); ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

int64_t pick(const torch::Tensor& logits, const GenerateOptions& o, at::Generator& gen) {
  if (o.temperature == 0) return argmax_row(logits);
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
  ElaraDecoder dec(model);
  return generate(dec, prompt, o);
}

torch::Tensor generate(ElaraDecoder& dec, const torch::Tensor& prompt, const GenerateOptions& o) {
  auto& model = dec.model();
  const auto ids = checked_prompt(model, prompt, o);
  torch::NoGradGuard no_grad;
  EvalScope scope(model);
  auto gen = at::detail::createCPUGenerator(o.seed);
  std::vector<int64_t> out(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.size(1));
  dec.clear();
  auto logits = dec.forward(out).logits;  // (T, V)
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    const int64_t next = pick(logits[logits.size(0) - 1], o, gen);
    out.push_back(next);
    if (i + 1 < o.max_new_tokens) logits = dec.forward({next}).logits;
  }
  return torch::tensor(out, torch::kLong).unsqueeze(0);
}

std::vector<int64_t> generate_stream(ElaraDecoder& dec, std::vector<int64_t>* cached,
                                     const std::vector<int64_t>& prompt, const GenerateOptions& o,
                                     const std::vector<int64_t>& stop_ids,
                                     const std::function<bool(int64_t)>& on_token) {
  auto& model = dec.model();
  const auto& c = model->config();
  if (prompt.empty()) throw UsageError("generate: the prompt is empty");
  for (const int64_t id : prompt)
    if (id < 0 || id >= c.vocab_size)
      throw UsageError("generate: prompt id " + std::to_string(id) +
                       " is outside the vocabulary 0.." + std::to_string(c.vocab_size - 1));
  if (static_cast<int64_t>(prompt.size()) >= c.block_size)
    throw UsageError("generate: the prompt is " + std::to_string(prompt.size()) +
                     " tokens and the model's context " + std::to_string(c.block_size) +
                     ": nothing fits after it (start a new conversation)");
  if (o.temperature < 0 || o.top_k < 0)
    throw UsageError("generate: temperature and top_k must be >= 0");
  torch::NoGradGuard no_grad;
  EvalScope scope(model);
  auto gen = at::detail::createCPUGenerator(o.seed);
  // Keep the common prefix, but always feed at least the prompt's last token (its logits).
  size_t keep = 0;
  while (keep < cached->size() && keep < prompt.size() && (*cached)[keep] == prompt[keep]) ++keep;
  keep = std::min(keep, prompt.size() - 1);
  keep = std::min<size_t>(keep, static_cast<size_t>(dec.length()));
  dec.truncate(static_cast<int64_t>(keep));
  cached->assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(keep));
  std::vector<int64_t> rest(prompt.begin() + static_cast<std::ptrdiff_t>(keep), prompt.end());
  auto logits = dec.forward(rest).logits;  // (T, V)
  cached->insert(cached->end(), rest.begin(), rest.end());
  std::vector<int64_t> out;
  const int64_t room = c.block_size - static_cast<int64_t>(prompt.size());
  for (int64_t i = 0; i < std::min(o.max_new_tokens, room); ++i) {
    const int64_t next = pick(logits[logits.size(0) - 1], o, gen);
    out.push_back(next);
    const bool go_on = on_token(next);
    if (!go_on || std::find(stop_ids.begin(), stop_ids.end(), next) != stop_ids.end()) break;
    if (i + 1 < std::min(o.max_new_tokens, room)) {
      logits = dec.forward({next}).logits;
      cached->push_back(next);
    }
  }
  return out;
}

torch::Tensor generate_draft(ElaraModel& model, const torch::Tensor& prompt,
                             const GenerateOptions& o, DraftStats* stats) {
  ElaraDecoder dec(model);
  return generate_draft(dec, prompt, o, stats);
}

torch::Tensor generate_draft(ElaraDecoder& dec, const torch::Tensor& prompt,
                             const GenerateOptions& o, DraftStats* stats) {
  auto& model = dec.model();
  const auto& c = model->config();
  if (!c.use_diffusion_head)
    throw UsageError(
        "draft-and-verify decoding needs a model trained with a diffusion head "
        "(lm.model.use_diffusion_head: true)");
  const auto ids = checked_prompt(model, prompt, o);
  torch::NoGradGuard no_grad;
  EvalScope scope(model);
  auto gen = at::detail::createCPUGenerator(o.seed);
  DraftStats st;
  dec.clear();
  // out holds every decided token; the cache holds all but the last ("certain"), which the
  // next pass feeds first, followed by the pending drafts.
  std::vector<int64_t> out(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.size(1));
  const size_t target = out.size() + static_cast<size_t>(o.max_new_tokens);
  std::vector<int64_t> drafts;
  torch::Tensor draft_q;  // (drafts, V) their distributions (sampling)
  const int64_t L = c.draft_len;
  // Drafts from block `b` of a pass (its masks start one past the prefix: the token right
  // after it is the AR head's to decide).
  auto take_drafts = [&](const torch::Tensor& dl, int64_t b, int64_t len) {  // dl (n_mask, V)
    drafts.clear();
    std::vector<torch::Tensor> qs;
    for (int64_t i = 0; i < len; ++i) {
      const auto row = dl[b * len + i];
      if (o.temperature == 0) {
        drafts.push_back(argmax_row(row));
      } else {
        qs.push_back(distribution(row, o));
        drafts.push_back(torch::multinomial(qs.back(), 1, false, gen).item<int64_t>());
      }
    }
    if (!qs.empty()) draft_q = torch::stack(qs);
  };
  // Mask blocks fit while their last position (last token + 1 + len) is inside the context.
  auto block_len = [&](int64_t last_token_pos) {
    return std::max<int64_t>(0, std::min(L, c.block_size - 2 - last_token_pos));
  };
  if (o.max_new_tokens == 0) return ids;
  {  // The prompt, with one block of masks after it.
    MaskBlocks blocks;
    blocks.len = block_len(ids.size(1) - 1);
    if (blocks.len > 0) blocks.prefix = {ids.size(1)};
    auto res = dec.forward(out, blocks.len > 0 ? &blocks : nullptr);
    dec.truncate(ids.size(1));
    out.push_back(pick(res.logits[ids.size(1) - 1], o, gen));
    if (blocks.len > 0) take_drafts(res.draft_logits, 0, blocks.len);
  }
  while (out.size() < target) {
    // One pass: [certain, drafts...] causal, and a block of masks after each possible
    // accepted prefix (TiDAR), so the next drafts are ready whatever the verification keeps.
    const int64_t base = dec.length();
    const auto need = static_cast<int64_t>(target - out.size());  // tokens still to decide
    const int64_t room = c.block_size - 1 - base;                 // positions after certain
    drafts.resize(static_cast<size_t>(
        std::max<int64_t>(0, std::min({static_cast<int64_t>(drafts.size()), need - 1, room}))));
    const int64_t j = static_cast<int64_t>(drafts.size());
    MaskBlocks blocks;
    blocks.len = block_len(base + j);
    for (int64_t b = 0; blocks.len > 0 && b <= j; ++b) blocks.prefix.push_back(b + 1);
    std::vector<int64_t> input = {out.back()};
    input.insert(input.end(), drafts.begin(), drafts.end());
    auto res = dec.forward(input, blocks.len > 0 ? &blocks : nullptr);
    ++st.passes;
    const auto& ar = res.logits;  // (1 + j, V): row i predicts the token after input[i]
    st.proposed += j;
    int64_t m = 0;
    int64_t next = -1;
    for (; m < j; ++m) {
      const int64_t d = drafts[static_cast<size_t>(m)];
      if (o.temperature == 0) {
        const int64_t a = argmax_row(ar[m]);
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
    for (int64_t i = 0; i < m; ++i) out.push_back(drafts[static_cast<size_t>(i)]);
    if (next < 0) next = pick(ar[m], o, gen);  // all drafts kept: the AR head's own next
    out.push_back(next);
    dec.truncate(base + 1 + m);  // keep certain + the accepted drafts
    drafts.clear();
    // Block m saw exactly the kept tokens: its masks draft the tokens after `next`.
    if (blocks.len > 0) take_drafts(res.draft_logits, m, blocks.len);
  }
  if (stats) *stats = st;
  out.resize(target);
  return torch::tensor(out, torch::kLong).unsqueeze(0);
}

}  // namespace elarin::models
