// The Elara decoder's attention (see decoder.hpp): one block application of one sequence's
// inputs against its own cache, a loop kernel per query row (AVX-512 when the CPU has it).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/avx512.hpp"
#include "elarin/core/runtime.hpp"
#include "elarin/models/elara/decoder.hpp"

namespace elarin::models {
namespace {

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

void ElaraDecoder::attend(DecoderCache& cache, size_t app, const torch::Tensor& qkv,
                          const MaskVisibility& vis, const torch::Tensor& cos,
                          const torch::Tensor& sin, const torch::Tensor& out) const {
  const int64_t n = qkv.size(0), H = c_.n_head, G = c_.kv_heads(), D = c_.head_dim();
  const int64_t rep = H / G, S = cache.slots_, width = qkv.size(1), past = cache.length_;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  float* K = cache.key_[static_cast<int64_t>(app)].data_ptr<float>();    // (G, D, S)
  float* V = cache.value_[static_cast<int64_t>(app)].data_ptr<float>();  // (G, S, D)
  const float* in = qkv.data_ptr<float>();
  const float* cs = cos.data_ptr<float>();
  const float* sn = sin.data_ptr<float>();
  float* o = out.data_ptr<float>();
  std::vector<float> q(static_cast<size_t>(n * H * D)), k(static_cast<size_t>(D));
  // Rotate q and k, and append k (transposed: column past + i of (D, S)) and v (row) to the
  // cache at slots past .. past + n - 1.
  for (int64_t i = 0; i < n; ++i) {
    const float* row = in + i * width;
    for (int64_t h = 0; h < H; ++h)
      rotate(row + h * D, cs + i * D, sn + i * D, D, q.data() + (i * H + h) * D);
    for (int64_t g = 0; g < G; ++g) {
      rotate(row + (H + g) * D, cs + i * D, sn + i * D, D, k.data());
      for (int64_t d = 0; d < D; ++d) K[(g * D + d) * S + past + i] = k[static_cast<size_t>(d)];
      std::copy(row + (H + G + g) * D, row + (H + G + g + 1) * D, V + (g * S + past + i) * D);
    }
  }
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
    return;
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
}

}  // namespace elarin::models
