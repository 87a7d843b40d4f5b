// Batch-1 inference path of the Elara LM (see the header).
#include "elarin/models/elara/decoder.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "elarin/core/errors.hpp"
#include "elarin/nn/rotary.hpp"
#include "elarin/nn/swiglu.hpp"

namespace elarin::models {
namespace {

torch::Tensor transposed(const torch::Tensor& w) { return w.detach().t().contiguous(); }

torch::Tensor fused_bias(const std::vector<torch::nn::Linear>& parts) {
  if (!parts[0]->bias.defined()) return {};
  std::vector<torch::Tensor> b;
  for (const auto& p : parts) b.push_back(p->bias.detach());
  return torch::cat(b, 0);
}

// x (n, in) @ w_t (in, out) [+ b], added to `acc` when given.
torch::Tensor matmul(const torch::Tensor& x, const torch::Tensor& w_t, const torch::Tensor& b,
                     const torch::Tensor& acc = {}) {
  torch::Tensor y = acc.defined() ? torch::addmm(acc, x, w_t) : torch::mm(x, w_t);
  if (b.defined()) y.add_(b);
  return y;
}

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// RoPE in Hugging Face's rotate_half convention: out = x * cos + rotate_half(x) * sin.
inline void rotate(const float* x, const float* cos, const float* sin, int64_t D, float* out) {
  const int64_t h = D / 2;
  for (int64_t i = 0; i < h; ++i) out[i] = x[i] * cos[i] - x[i + h] * sin[i];
  for (int64_t i = h; i < D; ++i) out[i] = x[i] * cos[i] + x[i - h] * sin[i];
}

}  // namespace

ElaraDecoder::ElaraDecoder(ElaraModel model) : model_(std::move(model)), c_(model_->config()) {
  const auto& p0 = model_->embed_tokens->weight;
  if (!p0.is_cpu() || p0.scalar_type() != torch::kFloat)
    throw UsageError("ElaraDecoder: the fast decoding path needs a float32 model on the CPU");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < model_->layers->size(); ++i) {
    auto block = model_->layers->ptr<ElaraBlockImpl>(i);
    const auto& a = *block->self_attn;
    Layer l;
    l.qkv_t = transposed(torch::cat({a.q_proj->weight, a.k_proj->weight, a.v_proj->weight}, 0));
    l.qkv_b = fused_bias({a.q_proj, a.k_proj, a.v_proj});
    l.o_t = transposed(a.o_proj->weight);
    if (a.o_proj->bias.defined()) l.o_b = a.o_proj->bias.detach();
    if (block->mlp) {
      const auto& m = *block->mlp;
      l.gate_up_t = transposed(torch::cat({m.gate_proj->weight, m.up_proj->weight}, 0));
      l.gate_up_b = fused_bias({m.gate_proj, m.up_proj});
      l.down_t = transposed(m.down_proj->weight);
      if (m.down_proj->bias.defined()) l.down_b = m.down_proj->bias.detach();
    }
    layers_.push_back(l);
  }
  head_t_ = transposed(model_->lm_head ? model_->lm_head->weight : model_->embed_tokens->weight);
  // The diffusion head's two matmuls (draft projection, then the LM head) as one.
  if (model_->draft_proj) draft_head_t_ = torch::mm(transposed(model_->draft_proj->weight), head_t_);
  // Cache slots: the context, plus the masks of one draft-and-verify pass (mask blocks after
  // each accepted-prefix length), which sit in the cache until truncate() drops them.
  const int64_t apps = c_.n_layer * c_.recursion_depth, D = c_.head_dim();
  slots_ = c_.block_size + (c_.use_diffusion_head ? (c_.draft_len + 1) * c_.draft_len : 0);
  key_ = torch::zeros({apps, c_.kv_heads(), slots_, D});
  value_ = torch::zeros({apps, c_.kv_heads(), slots_, D});
  nn::Rotary rope(D, c_.rope_theta);
  std::tie(cos_, sin_) = rope.tables(0, c_.block_size + 1, torch::kCPU);
  cos_ = cos_.contiguous();
  sin_ = sin_.contiguous();
}

torch::Tensor ElaraDecoder::attend(size_t app, const torch::Tensor& qkv,
                                   const MaskVisibility& vis, const torch::Tensor& cos,
                                   const torch::Tensor& sin) {
  const int64_t n = qkv.size(0), H = c_.n_head, G = c_.kv_heads(), D = c_.head_dim();
  const int64_t rep = H / G, S = slots_, width = qkv.size(1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  float* K = key_[static_cast<int64_t>(app)].data_ptr<float>();  // (G, S, D)
  float* V = value_[static_cast<int64_t>(app)].data_ptr<float>();
  const float* in = qkv.data_ptr<float>();
  const float* cs = cos.data_ptr<float>();
  const float* sn = sin.data_ptr<float>();
  std::vector<float> q(static_cast<size_t>(n * H * D));
  // Rotate q and k, and append k and v at positions length_ .. length_ + n - 1 of the cache.
  for (int64_t i = 0; i < n; ++i) {
    const float* row = in + i * width;
    for (int64_t h = 0; h < H; ++h)
      rotate(row + h * D, cs + i * D, sn + i * D, D, q.data() + (i * H + h) * D);
    for (int64_t g = 0; g < G; ++g) {
      rotate(row + (H + g) * D, cs + i * D, sn + i * D, D, K + (g * S + length_ + i) * D);
      std::copy(row + (H + G + g) * D, row + (H + G + g + 1) * D, V + (g * S + length_ + i) * D);
    }
  }
  auto out = torch::empty({n, H * D});
  float* o = out.data_ptr<float>();
  std::vector<float> p(static_cast<size_t>(length_ + n));
  for (int64_t i = 0; i < n; ++i) {
    // Keys 0 .. upto-1, plus b0 .. b1-1 (a mask's own block).
    const auto k = static_cast<size_t>(i);
    const int64_t upto = vis.upto[k], b0 = vis.own_begin[k], b1 = vis.own_end[k];
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / rep;
      const float* qh = q.data() + (i * H + h) * D;
      const float* Kg = K + g * S * D;
      const float* Vg = V + g * S * D;
      float mx = -std::numeric_limits<float>::infinity();
      auto score = [&](int64_t s) {
        p[static_cast<size_t>(s)] = dot(qh, Kg + s * D, D) * scale;
        mx = std::max(mx, p[static_cast<size_t>(s)]);
      };
      for (int64_t s = 0; s < upto; ++s) score(s);
      for (int64_t s = b0; s < b1; ++s) score(s);
      float sum = 0;
      auto expo = [&](int64_t s) {
        auto& v = p[static_cast<size_t>(s)];
        v = std::exp(v - mx);
        sum += v;
      };
      for (int64_t s = 0; s < upto; ++s) expo(s);
      for (int64_t s = b0; s < b1; ++s) expo(s);
      float* oh = o + (i * H + h) * D;
      std::fill(oh, oh + D, 0.0f);
      auto acc = [&](int64_t s) {
        const float w = p[static_cast<size_t>(s)] / sum;
        const float* vs = Vg + s * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) oh[d] += w * vs[d];
      };
      for (int64_t s = 0; s < upto; ++s) acc(s);
      for (int64_t s = b0; s < b1; ++s) acc(s);
    }
  }
  return out;  // (n, C)
}

ElaraDecoder::Output ElaraDecoder::forward(const std::vector<int64_t>& ids,
                                           const MaskBlocks* blocks) {
  torch::NoGradGuard no_grad;
  const int64_t T = static_cast<int64_t>(ids.size());
  const int64_t n_mask = blocks ? blocks->count() : 0, n = T + n_mask;
  TORCH_CHECK(T >= 1, "ElaraDecoder: no tokens");
  TORCH_CHECK(n_mask == 0 || draft_head_t_.defined(),
              "ElaraDecoder: mask blocks need a diffusion head");
  const auto vis = MaskVisibility::of(length_, T, blocks);
  TORCH_CHECK(vis.end <= c_.block_size, "ElaraDecoder: position ", vis.end - 1,
              " exceeds block_size ", c_.block_size);
  TORCH_CHECK(length_ + n <= slots_, "ElaraDecoder: ", length_ + n,
              " cached inputs exceed the cache's ", slots_, " slots (block_size ", c_.block_size,
              " + one pass of masks)");
  for (int64_t id : ids)
    TORCH_CHECK(id >= 0 && id < c_.vocab_size, "ElaraDecoder: token id ", id,
                " outside the vocabulary 0..", c_.vocab_size - 1);
  auto index = torch::tensor(vis.pos, torch::kLong);
  auto cos = cos_.index_select(0, index), sin = sin_.index_select(0, index);  // (n, D)

  auto x = model_->embed_tokens->weight.index_select(0, torch::tensor(ids, torch::kLong));
  if (n_mask > 0) x = torch::cat({x, model_->mask_embed.detach().view({1, -1}).expand({n_mask, -1})});
  x = x.contiguous();  // (n, C)
  size_t app = 0;
  for (size_t li = 0; li < layers_.size(); ++li) {
    auto block = model_->layers->ptr<ElaraBlockImpl>(li);
    const auto& l = layers_[li];
    for (int64_t r = 0; r < c_.recursion_depth; ++r, ++app) {
      auto qkv = matmul(block->input_layernorm(x), l.qkv_t, l.qkv_b);  // (n, (H + 2G) D)
      x = matmul(attend(app, qkv, vis, cos, sin), l.o_t, l.o_b, x);
      auto h = block->post_attention_layernorm(x);
      if (block->moe)
        x = x + block->moe->forward(h).y;
      else
        x = matmul(nn::swiglu_gate(matmul(h, l.gate_up_t, l.gate_up_b)), l.down_t, l.down_b, x);
    }
  }
  length_ += n;
  auto hidden = model_->norm(x);  // (n, C)
  Output out;
  out.logits = torch::mm(hidden.narrow(0, 0, T), head_t_);  // (T, V)
  if (n_mask > 0)
    out.draft_logits = torch::mm(hidden.narrow(0, T, n_mask), draft_head_t_);
  return out;
}

}  // namespace elarin::models
