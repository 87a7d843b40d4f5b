// Inference path of the Elara LM (see the header): the weights' layout, the caches, and the
// passes of one sequence (forward) and of several (forward_batch) through one layer loop.
// The attention kernel is in decoder_attention.cpp.
#include "elarin/models/elara/decoder.hpp"

#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <algorithm>

#include "elarin/core/errors.hpp"
#include "elarin/nn/rotary.hpp"
#include "elarin/nn/skinny_matmul.hpp"
#include "elarin/nn/swiglu.hpp"

namespace elarin::models {
namespace {

using nn::SkinnyWeight;

torch::Tensor fused_bias(const std::vector<torch::nn::Linear>& parts) {
  if (!parts[0]->bias.defined()) return {};
  std::vector<torch::Tensor> b;
  for (const auto& p : parts) b.push_back(p->bias.detach());
  return torch::cat(b, 0);
}

// x (n, in) @ W^T [+ b], added to `acc` when given.
torch::Tensor matmul(const torch::Tensor& x, const SkinnyWeight& w, const torch::Tensor& b,
                     const torch::Tensor& acc = {}) {
  return nn::skinny_mm(x, w, b, acc);
}

// What every pass checks of one sequence's tokens before it touches a cache: at least one,
// each in the vocabulary, the last input's position (end - 1) within block_size. `who...`
// starts the message (streamed only on failure).
template <class... Who>
void check_tokens(const std::vector<int64_t>& ids, int64_t end, const ElaraConfig& c,
                  const Who&... who) {
  TORCH_CHECK(!ids.empty(), who..., ": no tokens");
  TORCH_CHECK(end <= c.block_size, who..., ": position ", end - 1, " exceeds block_size ",
              c.block_size);
  for (int64_t id : ids)
    TORCH_CHECK(id >= 0 && id < c.vocab_size, who..., ": token id ", id,
                " outside the vocabulary 0..", c.vocab_size - 1);
}

}  // namespace

ElaraDecoder::ElaraDecoder(ElaraModel model, bool take_weights)
    : model_(std::move(model)),
      c_(model_->config()),
      rope_(c_.head_dim(), c_.rope_theta, c_.rope_scaling) {
  const auto& p0 = model_->embed_tokens->weight;
  if (!p0.is_cpu() || p0.scalar_type() != torch::kFloat)
    throw UsageError("ElaraDecoder: the fast decoding path needs a float32 model on the CPU");
  torch::NoGradGuard no_grad;
  // With take_weights, a weight's storage goes as soon as its packed copy exists.
  auto taken = [take_weights](std::initializer_list<torch::nn::Linear> ls) {
    if (take_weights)
      for (const auto& l : ls) l->weight.set_();  // 0 elements
  };
  for (size_t i = 0; i < model_->layers->size(); ++i) {
    auto block = model_->layers->ptr<ElaraBlockImpl>(i);
    const auto& a = *block->self_attn;
    Layer l;
    l.qkv = SkinnyWeight::pack(torch::cat({a.q_proj->weight, a.k_proj->weight, a.v_proj->weight}, 0));
    l.qkv_b = fused_bias({a.q_proj, a.k_proj, a.v_proj});
    l.o = SkinnyWeight::pack(a.o_proj->weight);
    if (a.o_proj->bias.defined()) l.o_b = a.o_proj->bias.detach();
    taken({a.q_proj, a.k_proj, a.v_proj, a.o_proj});
    if (block->mlp) {
      const auto& m = *block->mlp;
      l.gate_up = SkinnyWeight::pack(torch::cat({m.gate_proj->weight, m.up_proj->weight}, 0));
      l.gate_up_b = fused_bias({m.gate_proj, m.up_proj});
      l.down = SkinnyWeight::pack(m.down_proj->weight);
      if (m.down_proj->bias.defined()) l.down_b = m.down_proj->bias.detach();
      taken({m.gate_proj, m.up_proj, m.down_proj});
    }
    layers_.push_back(l);
  }
  const auto& head = model_->lm_head ? model_->lm_head->weight : model_->embed_tokens->weight;
  head_ = SkinnyWeight::pack(head);  // (V, C)
  // The diffusion head's two matmuls (draft projection, then the LM head) as one (C, V).
  if (model_->draft_proj)
    draft_head_ = SkinnyWeight::pack(torch::mm(model_->draft_proj->weight.t(), head.t()), true);
  if (take_weights) {
    if (model_->lm_head) {
      taken({model_->lm_head});
    } else {
      embed_from_head_ = true;
      model_->embed_tokens->weight.set_();
    }
  }
  // Cache slots: the context, plus the masks of one draft-and-verify pass (mask blocks after
  // each accepted-prefix length), which sit in the cache until truncate() drops them.
  max_slots_ = c_.block_size + (c_.use_diffusion_head ? (c_.draft_len + 1) * c_.draft_len : 0);
  reserve(cache_, std::min<int64_t>(max_slots_, 256));
}

torch::Tensor ElaraDecoder::embed(const std::vector<int64_t>& ids) const {
  if (embed_from_head_) return nn::skinny_rows(head_, ids);
  return model_->embed_tokens->weight.index_select(0, torch::tensor(ids, torch::kLong));
}

int64_t DecoderCache::bytes() const {
  return key_.defined() ? static_cast<int64_t>(key_.nbytes() + value_.nbytes()) : 0;
}

void ElaraDecoder::reserve(DecoderCache& cache, int64_t needed) const {
  if (needed <= cache.slots_) return;
  // Doubling: a 128k-context checkpoint (Llama 3.x) decodes a short text in a few MB of cache,
  // not the gigabytes its whole context would take. At least 64 slots, so that a short prompt's
  // first steps do not regrow it every few tokens.
  const int64_t slots =
      std::min(max_slots_, std::max({needed, 2 * cache.slots_, static_cast<int64_t>(64)}));
  const int64_t apps = c_.n_layer * c_.recursion_depth, D = c_.head_dim();
  auto key = torch::zeros({apps, c_.kv_heads(), D, slots});
  auto value = torch::zeros({apps, c_.kv_heads(), slots, D});
  if (cache.length_ > 0) {
    key.narrow(3, 0, cache.length_).copy_(cache.key_.narrow(3, 0, cache.length_));
    value.narrow(2, 0, cache.length_).copy_(cache.value_.narrow(2, 0, cache.length_));
  }
  cache.key_ = key;
  cache.value_ = value;
  cache.slots_ = slots;
}

torch::Tensor ElaraDecoder::run(torch::Tensor x, const std::vector<Span>& spans) {
  const int64_t n = x.size(0), H = c_.n_head, D = c_.head_dim();
  // Each row's RoPE angles: its span's positions, whatever the other spans' are.
  std::vector<int64_t> pos;
  int64_t end = 0;
  for (const auto& s : spans) {
    pos.insert(pos.end(), s.vis.pos.begin(), s.vis.pos.end());
    end = std::max(end, s.vis.end);
  }
  auto index = torch::tensor(pos, torch::kLong);
  const auto [cos_all, sin_all] = rope_.tables(0, end, torch::kCPU);  // grown on demand
  auto cos = cos_all.index_select(0, index), sin = sin_all.index_select(0, index);  // (n, D)
  x = x.contiguous();
  size_t app = 0;
  for (size_t li = 0; li < layers_.size(); ++li) {
    auto block = model_->layers->ptr<ElaraBlockImpl>(li);
    const auto& l = layers_[li];
    for (int64_t r = 0; r < c_.recursion_depth; ++r, ++app) {
      // (n, (H + 2G) D), q and k heads RMS-normed with qk_norm
      auto qkv = block->self_attn->norm_qk(matmul(block->input_layernorm(x), l.qkv, l.qkv_b));
      auto att = torch::empty({n, H * D});
      // Spans touch disjoint caches and rows: a batch's sequences attend in parallel.
      at::parallel_for(0, static_cast<int64_t>(spans.size()), 1, [&](int64_t s0, int64_t s1) {
        for (auto i = static_cast<size_t>(s0); i < static_cast<size_t>(s1); ++i) {
          const auto& s = spans[i];
          const auto m = static_cast<int64_t>(s.vis.pos.size());
          attend(*s.cache, app, qkv.narrow(0, s.row, m), s.vis, cos.narrow(0, s.row, m),
                 sin.narrow(0, s.row, m), att.narrow(0, s.row, m));
        }
      });
      x = matmul(att, l.o, l.o_b, x);
      auto h = block->post_attention_layernorm(x);
      if (block->moe)
        x = x + block->moe->forward(h).y;
      else
        x = matmul(nn::swiglu_gate(matmul(h, l.gate_up, l.gate_up_b)), l.down, l.down_b, x);
    }
  }
  for (const auto& s : spans) s.cache->length_ += static_cast<int64_t>(s.vis.pos.size());
  return model_->norm(x);  // (n, C)
}

ElaraDecoder::Output ElaraDecoder::forward(const std::vector<int64_t>& ids,
                                           const MaskBlocks* blocks) {
  torch::NoGradGuard no_grad;
  const int64_t T = static_cast<int64_t>(ids.size()), past = cache_.length();
  const int64_t n_mask = blocks ? blocks->count() : 0, n = T + n_mask;
  TORCH_CHECK(n_mask == 0 || draft_head_.data.defined(),
              "ElaraDecoder: mask blocks need a diffusion head");
  auto vis = MaskVisibility::of(past, T, blocks);
  check_tokens(ids, vis.end, c_, "ElaraDecoder");
  TORCH_CHECK(past + n <= max_slots_, "ElaraDecoder: ", past + n,
              " cached inputs exceed the cache's ", max_slots_, " slots (block_size ",
              c_.block_size, " + one pass of masks)");
  reserve(cache_, past + n);

  auto x = embed(ids);
  if (n_mask > 0) x = torch::cat({x, model_->mask_embed.detach().view({1, -1}).expand({n_mask, -1})});
  auto hidden = run(x, {Span{&cache_, 0, std::move(vis)}});  // (n, C)
  Output out;
  out.logits = matmul(hidden.narrow(0, 0, T), head_, {});  // (T, V)
  if (n_mask > 0) out.draft_logits = matmul(hidden.narrow(0, T, n_mask), draft_head_, {});
  return out;
}

std::vector<DecodeResult> ElaraDecoder::forward_batch(const std::vector<DecodeRequest>& batch) {
  torch::NoGradGuard no_grad;
  // Every request is checked before any cache moves: a bad one leaves all of them as they were.
  std::vector<Span> spans;
  std::vector<int64_t> ids, head_rows;  // all fed ids; the rows the LM head runs on
  int64_t rows = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    const auto& r = batch[b];
    const char* who = "ElaraDecoder::forward_batch: request ";
    TORCH_CHECK(r.cache, who, b, " has no cache");
    for (size_t a = 0; a < b; ++a)  // one cache fed twice in a pass would overwrite itself
      TORCH_CHECK(batch[a].cache != r.cache, who, b, " uses the cache of request ", a);
    const auto T = static_cast<int64_t>(r.ids.size()), past = r.cache->length();
    check_tokens(r.ids, past + T, c_, who, b);
    spans.push_back({r.cache, rows, MaskVisibility::of(past, T, nullptr)});
    ids.insert(ids.end(), r.ids.begin(), r.ids.end());
    for (int64_t t = r.all_logits ? 0 : T - 1; t < T; ++t) head_rows.push_back(rows + t);
    rows += T;
  }
  if (batch.empty()) return {};
  for (const auto& s : spans)
    reserve(*s.cache, s.cache->length() + static_cast<int64_t>(s.vis.pos.size()));

  auto x = embed(ids);
  auto hidden = run(x, spans);  // (rows, C)
  // The head only on the rows asked for: a long prompt's other positions would cost it
  // V x C each, more than a layer on a large vocabulary.
  auto logits = matmul(hidden.index_select(0, torch::tensor(head_rows, torch::kLong)), head_,
                       {});  // (head rows, V)
  std::vector<DecodeResult> out(batch.size());
  int64_t row = 0;  // of logits
  for (size_t b = 0; b < batch.size(); ++b) {
    const auto T = static_cast<int64_t>(batch[b].ids.size()), k = batch[b].all_logits ? T : 1;
    out[b].logits = logits.narrow(0, row, k);  // (T, V) or (1, V)
    row += k;
    if (batch[b].hidden) out[b].hidden = hidden.narrow(0, spans[b].row, T);  // (T, C)
  }
  return out;
}

}  // namespace elarin::models
