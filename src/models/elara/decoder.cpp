// Batch-1 inference path of the Elara LM (see the header).
#include "elarin/models/elara/decoder.hpp"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/avx512.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/runtime.hpp"
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

// exp(x) for x <= 0 (softmax after subtracting the max), in a form the vectoriser takes:
// x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r (relative error < 2e-7),
// and 2^n put into the exponent bits. Inputs below -87 count as -87 (e^-87 ~ 1.6e-38, nothing
// next to the max's weight of 1).
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return p * two_n;
}

// One query head over the keys [0, upto) and [b0, b1) of its group: softmax(q k / sqrt(D)) v.
// Kt (D, S) keys transposed so the scores of 16 keys are one vector op per dimension; V (S, D).
// p is scratch for S scores. The portable form; attend_rows_avx512 is the same with vectors.
void attend_head(
    const float* q, const float* Kt, const float* V, int64_t S, int64_t D, int64_t upto,
    int64_t b0, int64_t b1, float scale, float* p, float* out) {
  const int64_t ranges[2][2] = {{0, upto}, {b0, b1}};
  for (const auto& rg : ranges) {
    const int64_t lo = rg[0], hi = rg[1];
    std::fill(p + lo, p + hi, 0.0f);
    for (int64_t d = 0; d < D; ++d) {
      const float qd = q[d] * scale;
      const float* kd = Kt + d * S;
#pragma omp simd
      for (int64_t s = lo; s < hi; ++s) p[s] += qd * kd[s];
    }
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (const auto& rg : ranges) {
#pragma omp simd reduction(max : mx)
    for (int64_t s = rg[0]; s < rg[1]; ++s) mx = std::max(mx, p[s]);
  }
  float sum = 0;
  for (const auto& rg : ranges) {
#pragma omp simd reduction(+ : sum)
    for (int64_t s = rg[0]; s < rg[1]; ++s) {
      p[s] = exp_nonpositive(p[s] - mx);
      sum += p[s];
    }
  }
  std::fill(out, out + D, 0.0f);
  for (const auto& rg : ranges)
    for (int64_t s = rg[0]; s < rg[1]; ++s) {
      const float w = p[s];
      const float* vs = V + s * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) out[d] += w * vs[d];
    }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t d = 0; d < D; ++d) out[d] *= inv;
}

}  // namespace
}  // namespace elarin::models

// attend_head with AVX-512F vectors for several rows at once, compiled for it whatever the
// build's flags and called only when the CPU has it.
ELARIN_AVX512_BEGIN

namespace elarin::models {
namespace {

// exp_nonpositive on 16 lanes.
inline __m512 exp_nonpositive16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(
      _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// Up to four query rows of one key/value group at once (the positions of a pass, or the
// heads sharing a kv head): R rows' scores for 64 keys stay in registers over the D
// dimensions, so each key is loaded once for all rows; each row then softmaxes over what it
// sees ([0, upto) and its own block [b0, b1); the rest of [0, smax) gets weight 0), and each
// value is loaded once for all rows. P is scratch for R x S scores.
template <int R>
void attend_rows_avx512(const float* const* q, const int64_t* upto, const int64_t* b0,
                        const int64_t* b1, const float* Kt, const float* V, int64_t S,
                        int64_t D, float scale, float* P, float* const* out) {
  int64_t smax = 0;
  for (int r = 0; r < R; ++r) smax = std::max({smax, upto[r], b1[r]});
  for (int64_t s = 0; s < smax; s += 64) {
    __mmask16 m[4];
    __m512 a[R][4];
    for (int v = 0; v < 4; ++v) m[v] = avx512_lanes(smax - s - 16 * v);
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < 4; ++v) a[r][v] = _mm512_setzero_ps();
    const float* k = Kt + s;
    for (int64_t d = 0; d < D; ++d, k += S) {
      __m512 kv[4];
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) kv[v] = _mm512_maskz_loadu_ps(m[v], k + 16 * v);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512 qd = _mm512_set1_ps(q[r][d] * scale);
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) a[r][v] = _mm512_fmadd_ps(qd, kv[v], a[r][v]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < 4; ++v) _mm512_mask_storeu_ps(P + r * S + s + 16 * v, m[v], a[r][v]);
  }
  const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  float inv[R];
  for (int r = 0; r < R; ++r) {
    float* pr = P + r * S;
    auto visible = [&](int64_t s) {
      return static_cast<__mmask16>(avx512_lanes(upto[r] - s) | (avx512_lanes(b1[r] - s) & ~avx512_lanes(b0[r] - s)));
    };
    // Scratch past smax is not read or written: loads and stores are masked to [0, smax).
    __m512 mxv = neg_inf;
    for (int64_t s = 0; s < smax; s += 16)
      mxv = _mm512_max_ps(mxv, _mm512_mask_blend_ps(visible(s), neg_inf,
                                                    _mm512_maskz_loadu_ps(avx512_lanes(smax - s), pr + s)));
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(mxv));
    __m512 sumv = _mm512_setzero_ps();
    for (int64_t s = 0; s < smax; s += 16) {
      const __mmask16 in = avx512_lanes(smax - s);
      const __m512 e = _mm512_maskz_mov_ps(
          visible(s) & in, exp_nonpositive16(_mm512_sub_ps(_mm512_maskz_loadu_ps(in, pr + s), mx)));
      _mm512_mask_storeu_ps(pr + s, in, e);
      sumv = _mm512_add_ps(sumv, e);
    }
    inv[r] = 1.0f / _mm512_reduce_add_ps(sumv);
  }
  for (int64_t d = 0; d < D; d += 16) {
    const __mmask16 md = avx512_lanes(D - d);
    __m512 a0[R], a1[R];
    for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm512_setzero_ps();
    int64_t s = 0;
    for (; s + 1 < smax; s += 2) {
      const __m512 v0 = _mm512_maskz_loadu_ps(md, V + s * D + d);
      const __m512 v1 = _mm512_maskz_loadu_ps(md, V + (s + 1) * D + d);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(P[r * S + s]), v0, a0[r]);
        a1[r] = _mm512_fmadd_ps(_mm512_set1_ps(P[r * S + s + 1]), v1, a1[r]);
      }
    }
    if (s < smax) {
      const __m512 v0 = _mm512_maskz_loadu_ps(md, V + s * D + d);
      for (int r = 0; r < R; ++r) a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(P[r * S + s]), v0, a0[r]);
    }
    for (int r = 0; r < R; ++r)
      _mm512_mask_storeu_ps(out[r] + d, md,
                            _mm512_mul_ps(_mm512_add_ps(a0[r], a1[r]), _mm512_set1_ps(inv[r])));
  }
}

using RowsFn = void (*)(const float* const*, const int64_t*, const int64_t*, const int64_t*,
                        const float*, const float*, int64_t, int64_t, float, float*,
                        float* const*);
constexpr RowsFn kRows[4] = {attend_rows_avx512<1>, attend_rows_avx512<2>,
                             attend_rows_avx512<3>, attend_rows_avx512<4>};

}  // namespace
}  // namespace elarin::models

ELARIN_AVX512_END

namespace elarin::models {
namespace {

// RoPE in Hugging Face's rotate_half convention: out = x * cos + rotate_half(x) * sin.
inline void rotate(const float* x, const float* cos, const float* sin, int64_t D, float* out) {
  const int64_t h = D / 2;
#pragma omp simd
  for (int64_t i = 0; i < h; ++i) out[i] = x[i] * cos[i] - x[i + h] * sin[i];
#pragma omp simd
  for (int64_t i = h; i < D; ++i) out[i] = x[i] * cos[i] + x[i - h] * sin[i];
}

}  // namespace

ElaraDecoder::ElaraDecoder(ElaraModel model)
    : model_(std::move(model)),
      c_(model_->config()),
      rope_(c_.head_dim(), c_.rope_theta, c_.rope_scaling) {
  const auto& p0 = model_->embed_tokens->weight;
  if (!p0.is_cpu() || p0.scalar_type() != torch::kFloat)
    throw UsageError("ElaraDecoder: the fast decoding path needs a float32 model on the CPU");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < model_->layers->size(); ++i) {
    auto block = model_->layers->ptr<ElaraBlockImpl>(i);
    const auto& a = *block->self_attn;
    Layer l;
    l.qkv = SkinnyWeight::pack(torch::cat({a.q_proj->weight, a.k_proj->weight, a.v_proj->weight}, 0));
    l.qkv_b = fused_bias({a.q_proj, a.k_proj, a.v_proj});
    l.o = SkinnyWeight::pack(a.o_proj->weight);
    if (a.o_proj->bias.defined()) l.o_b = a.o_proj->bias.detach();
    if (block->mlp) {
      const auto& m = *block->mlp;
      l.gate_up = SkinnyWeight::pack(torch::cat({m.gate_proj->weight, m.up_proj->weight}, 0));
      l.gate_up_b = fused_bias({m.gate_proj, m.up_proj});
      l.down = SkinnyWeight::pack(m.down_proj->weight);
      if (m.down_proj->bias.defined()) l.down_b = m.down_proj->bias.detach();
    }
    layers_.push_back(l);
  }
  const auto& head = model_->lm_head ? model_->lm_head->weight : model_->embed_tokens->weight;
  head_ = SkinnyWeight::pack(head);  // (V, C)
  // The diffusion head's two matmuls (draft projection, then the LM head) as one (C, V).
  if (model_->draft_proj)
    draft_head_ = SkinnyWeight::pack(torch::mm(model_->draft_proj->weight.t(), head.t()), true);
  // Cache slots: the context, plus the masks of one draft-and-verify pass (mask blocks after
  // each accepted-prefix length), which sit in the cache until truncate() drops them.
  max_slots_ = c_.block_size + (c_.use_diffusion_head ? (c_.draft_len + 1) * c_.draft_len : 0);
  reserve(std::min<int64_t>(max_slots_, 256));
}

void ElaraDecoder::reserve(int64_t needed) {
  if (needed <= slots_) return;
  // Doubling: a 128k-context checkpoint (Llama 3.x) decodes a short text in a few MB of cache,
  // not the gigabytes its whole context would take.
  const int64_t slots = std::min(max_slots_, std::max(needed, 2 * slots_));
  const int64_t apps = c_.n_layer * c_.recursion_depth, D = c_.head_dim();
  auto key = torch::zeros({apps, c_.kv_heads(), D, slots});
  auto value = torch::zeros({apps, c_.kv_heads(), slots, D});
  if (length_ > 0) {
    key.narrow(3, 0, length_).copy_(key_.narrow(3, 0, length_));
    value.narrow(2, 0, length_).copy_(value_.narrow(2, 0, length_));
  }
  key_ = key;
  value_ = value;
  slots_ = slots;
}

torch::Tensor ElaraDecoder::attend(size_t app, const torch::Tensor& qkv,
                                   const MaskVisibility& vis, const torch::Tensor& cos,
                                   const torch::Tensor& sin) {
  const int64_t n = qkv.size(0), H = c_.n_head, G = c_.kv_heads(), D = c_.head_dim();
  const int64_t rep = H / G, S = slots_, width = qkv.size(1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  float* K = key_[static_cast<int64_t>(app)].data_ptr<float>();  // (G, D, S)
  float* V = value_[static_cast<int64_t>(app)].data_ptr<float>();
  const float* in = qkv.data_ptr<float>();
  const float* cs = cos.data_ptr<float>();
  const float* sn = sin.data_ptr<float>();
  std::vector<float> q(static_cast<size_t>(n * H * D)), k(static_cast<size_t>(D));
  // Rotate q and k, and append k (transposed: column length_ + i of (D, S)) and v (row) to the
  // cache at positions length_ .. length_ + n - 1.
  for (int64_t i = 0; i < n; ++i) {
    const float* row = in + i * width;
    for (int64_t h = 0; h < H; ++h)
      rotate(row + h * D, cs + i * D, sn + i * D, D, q.data() + (i * H + h) * D);
    for (int64_t g = 0; g < G; ++g) {
      rotate(row + (H + g) * D, cs + i * D, sn + i * D, D, k.data());
      for (int64_t d = 0; d < D; ++d) K[(g * D + d) * S + length_ + i] = k[static_cast<size_t>(d)];
      std::copy(row + (H + G + g) * D, row + (H + G + g + 1) * D, V + (g * S + length_ + i) * D);
    }
  }
  auto out = torch::empty({n, H * D});
  float* o = out.data_ptr<float>();
  if (cpu_has_avx512f()) {
    // Each group's rows (position i, head h) four at a time, sharing the group's keys.
    std::vector<float> P(static_cast<size_t>(4 * S));
    for (int64_t g = 0; g < G; ++g) {
      const float* q_[4];
      float* o_[4];
      int64_t up[4], lo[4], hi[4];
      int R = 0;
      auto flush = [&] {
        if (R > 0)
          kRows[R - 1](q_, up, lo, hi, K + g * D * S, V + g * S * D, S, D, scale, P.data(), o_);
        R = 0;
      };
      for (int64_t i = 0; i < n; ++i)
        for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
          const auto r = static_cast<size_t>(i);
          q_[R] = q.data() + (i * H + h) * D;
          o_[R] = o + (i * H + h) * D;
          up[R] = vis.upto[r];
          lo[R] = vis.own_begin[r];
          hi[R] = vis.own_end[r];
          if (++R == 4) flush();
        }
      flush();
    }
    return out;
  }
  std::vector<float> p(static_cast<size_t>(S));
  for (int64_t i = 0; i < n; ++i) {
    // Keys 0 .. upto-1, plus b0 .. b1-1 (a mask's own block).
    const auto r = static_cast<size_t>(i);
    for (int64_t h = 0; h < H; ++h)
      attend_head(q.data() + (i * H + h) * D, K + (h / rep) * D * S, V + (h / rep) * S * D, S,
                  D, vis.upto[r], vis.own_begin[r], vis.own_end[r], scale, p.data(),
                  o + (i * H + h) * D);
  }
  return out;  // (n, C)
}

ElaraDecoder::Output ElaraDecoder::forward(const std::vector<int64_t>& ids,
                                           const MaskBlocks* blocks) {
  torch::NoGradGuard no_grad;
  const int64_t T = static_cast<int64_t>(ids.size());
  const int64_t n_mask = blocks ? blocks->count() : 0, n = T + n_mask;
  TORCH_CHECK(T >= 1, "ElaraDecoder: no tokens");
  TORCH_CHECK(n_mask == 0 || draft_head_.data.defined(),
              "ElaraDecoder: mask blocks need a diffusion head");
  const auto vis = MaskVisibility::of(length_, T, blocks);
  TORCH_CHECK(vis.end <= c_.block_size, "ElaraDecoder: position ", vis.end - 1,
              " exceeds block_size ", c_.block_size);
  TORCH_CHECK(length_ + n <= max_slots_, "ElaraDecoder: ", length_ + n,
              " cached inputs exceed the cache's ", max_slots_, " slots (block_size ",
              c_.block_size, " + one pass of masks)");
  for (int64_t id : ids)
    TORCH_CHECK(id >= 0 && id < c_.vocab_size, "ElaraDecoder: token id ", id,
                " outside the vocabulary 0..", c_.vocab_size - 1);
  reserve(length_ + n);
  auto index = torch::tensor(vis.pos, torch::kLong);
  const auto [cos_all, sin_all] = rope_.tables(0, vis.end, torch::kCPU);  // grown on demand
  auto cos = cos_all.index_select(0, index), sin = sin_all.index_select(0, index);  // (n, D)

  auto x = model_->embed_tokens->weight.index_select(0, torch::tensor(ids, torch::kLong));
  if (n_mask > 0) x = torch::cat({x, model_->mask_embed.detach().view({1, -1}).expand({n_mask, -1})});
  x = x.contiguous();  // (n, C)
  size_t app = 0;
  for (size_t li = 0; li < layers_.size(); ++li) {
    auto block = model_->layers->ptr<ElaraBlockImpl>(li);
    const auto& l = layers_[li];
    for (int64_t r = 0; r < c_.recursion_depth; ++r, ++app) {
      // (n, (H + 2G) D), q and k heads RMS-normed with qk_norm
      auto qkv = block->self_attn->norm_qk(matmul(block->input_layernorm(x), l.qkv, l.qkv_b));
      x = matmul(attend(app, qkv, vis, cos, sin), l.o, l.o_b, x);
      auto h = block->post_attention_layernorm(x);
      if (block->moe)
        x = x + block->moe->forward(h).y;
      else
        x = matmul(nn::swiglu_gate(matmul(h, l.gate_up, l.gate_up_b)), l.down, l.down_b, x);
    }
  }
  length_ += n;
  auto hidden = model_->norm(x);  // (n, C)
  Output out;
  out.logits = matmul(hidden.narrow(0, 0, T), head_, {});  // (T, V)
  if (n_mask > 0) out.draft_logits = matmul(hidden.narrow(0, T, n_mask), draft_head_, {});
  return out;
}

}  // namespace elarin::models
