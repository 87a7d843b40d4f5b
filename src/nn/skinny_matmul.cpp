// Few-row matrix products on packed weights (see the header).
#include "elarin/nn/skinny_matmul.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>

#include "core/avx512.hpp"
#include "elarin/core/runtime.hpp"

// The kernels are compiled for AVX-512F whatever the build's flags; they run only after
// elarin::cpu_has_avx512f() says the CPU has it.
ELARIN_AVX512_BEGIN

namespace elarin::nn {
namespace {

// Panels p0 .. p1-1 for rows 0 .. R-1: accumulators for R rows x V panels stay in registers
// while k runs down the panels, so each weight is loaded once per tile of rows. Panels left
// over (fewer than V) go one at a time. The output columns past `out` (padding) are not stored.
// `ahead`: software prefetch this far (floats) down each panel (0: none; see prefetch_ahead).
template <int R, int V>
void tile(const float* x, int64_t K, const float* w, int64_t out, const float* b,
          const float* acc, float* y, int64_t p0, int64_t p1, int64_t ahead) {
  auto init = [&](int r, int64_t o) {
    const __mmask16 m = avx512_lanes(out - o);
    __m512 v = b ? _mm512_maskz_loadu_ps(m, b + o) : _mm512_setzero_ps();
    if (acc) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, acc + r * out + o));
    return v;
  };
  auto store = [&](int r, int64_t o, __m512 v) {
    _mm512_mask_storeu_ps(y + r * out + o, avx512_lanes(out - o), v);
  };
  int64_t p = p0;
  for (; p + V <= p1; p += V) {
    __m512 a[R][V];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) a[r][v] = init(r, (p + v) * 16);
    const float* wp = w + p * K * 16;
    for (int64_t k = 0; k < K; ++k, wp += 16) {
      __m512 wv[V];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        _mm_prefetch(reinterpret_cast<const char*>(wp + v * K * 16 + ahead), _MM_HINT_T0);
        wv[v] = _mm512_loadu_ps(wp + v * K * 16);
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512 xv = _mm512_set1_ps(x[r * K + k]);
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) a[r][v] = _mm512_fmadd_ps(xv, wv[v], a[r][v]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) store(r, (p + v) * 16, a[r][v]);
  }
  for (; p < p1; ++p) {
    __m512 a[R];
    for (int r = 0; r < R; ++r) a[r] = init(r, p * 16);
    const float* wp = w + p * K * 16;
    for (int64_t k = 0; k < K; ++k, wp += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(wp + ahead), _MM_HINT_T0);
      const __m512 wv = _mm512_loadu_ps(wp);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r * K + k]), wv, a[r]);
    }
    for (int r = 0; r < R; ++r) store(r, p * 16, a[r]);
  }
}

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, const float*, const float*,
                        float*, int64_t, int64_t, int64_t);

// Row counts 1..8: four panels up to 4 rows, three above (R V + V + 1 <= 32 registers).
constexpr TileFn kTiles[8] = {tile<1, 4>, tile<2, 4>, tile<3, 4>, tile<4, 4>,
                              tile<5, 3>, tile<6, 3>, tile<7, 3>, tile<8, 3>};

}  // namespace
}  // namespace elarin::nn

ELARIN_AVX512_END

namespace elarin::nn {
namespace {

// How far ahead (floats) the kernels prefetch down a panel. With the hardware prefetcher alone
// one core streamed a 150k-token LM head at ~13 GB/s here; 16 k-steps (1 KB) ahead made
// decoding faster (docs/BENCHMARKS.md, session 18). ELARIN_SKINNY_PREFETCH=<floats> sets it for
// other CPUs and A/B runs (0 prefetches the line being read: none ahead).
int64_t prefetch_ahead() {
  static const int64_t ahead = [] {
    const char* v = std::getenv("ELARIN_SKINNY_PREFETCH");
    if (v == nullptr || *v == '\0') return int64_t{16 * 16};
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    return *end == '\0' && n >= 0 && n <= (1 << 16) ? static_cast<int64_t>(n) : int64_t{16 * 16};
  }();
  return ahead;
}

}  // namespace

SkinnyWeight SkinnyWeight::pack(const torch::Tensor& w, bool transposed) {
  TORCH_CHECK(w.dim() == 2 && w.is_cpu() && w.scalar_type() == torch::kFloat,
              "SkinnyWeight::pack: expected a 2-D float32 CPU matrix, got ", w.sizes(), " ",
              w.scalar_type());
  const auto wc = w.detach().contiguous();  // no copy for a parameter
  auto wt = transposed ? wc : wc.t();           // (in, out), a view
  SkinnyWeight s;
  s.in = wt.size(0);
  s.out = wt.size(1);
  if (!cpu_has_avx512f()) {
    s.data = wt.contiguous();
    return s;
  }
  // Straight into the panel layout (P, in, 16), padding columns zero: no padded or permuted
  // intermediate, so packing a 150k-token LM head needs no more than the packed copy itself.
  const int64_t P = (s.out + 15) / 16, K = s.in, O = s.out;
  s.data = torch::empty({P, K, 16});
  const float* w_ptr = wt.data_ptr<float>();
  const int64_t sk = wt.stride(0), so = wt.stride(1);  // (in, out) strides of the view
  float* d = s.data.data_ptr<float>();
  at::parallel_for(0, P, 64, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < 16; ++j) {
          const int64_t o = p * 16 + j;
          d[(p * K + k) * 16 + j] = o < O ? w_ptr[k * sk + o * so] : 0.0f;
        }
  });
  s.panels = true;
  return s;
}

torch::Tensor skinny_mm(const torch::Tensor& x, const SkinnyWeight& w, const torch::Tensor& b,
                        const torch::Tensor& acc) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == w.in, "skinny_mm: x ", x.sizes(),
              " does not match a weight of ", w.in, " inputs and ", w.out, " outputs");
  TORCH_CHECK(!b.defined() || b.numel() == w.out, "skinny_mm: bias of ", b.numel(), " for ",
              w.out, " outputs");
  TORCH_CHECK(!acc.defined() || (acc.dim() == 2 && acc.size(0) == x.size(0) && acc.size(1) == w.out),
              "skinny_mm: addend ", acc.sizes(), " for output (", x.size(0), ", ", w.out, ")");
  const bool fast = w.panels && x.is_cpu() && x.scalar_type() == torch::kFloat &&
                    x.is_contiguous() && (!b.defined() || b.is_contiguous()) &&
                    (!acc.defined() || acc.is_contiguous());
  if (!fast) {
    auto wt = w.panels ? w.data.permute({1, 0, 2}).reshape({w.in, -1}).narrow(1, 0, w.out)
                       : w.data;
    auto y = torch::mm(x, wt.to(x.scalar_type()));
    if (b.defined()) y.add_(b);
    if (acc.defined()) y.add_(acc);
    return y;
  }
  const int64_t N = x.size(0), K = w.in, P = w.data.size(0);
  auto y = torch::empty({N, w.out}, x.options());
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data.data_ptr<float>();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  const float* ap = acc.defined() ? acc.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  // Chunks of 12 panels (a multiple of both tiles' widths, so the split never changes which
  // tile computes a column) over threads, when each thread gets at least ~64k weights: below
  // that, waking threads costs more than the work.
  constexpr int64_t kChunk = 12;
  const int64_t chunks = (P + kChunk - 1) / kChunk;
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, K * kChunk * 16));
  const int64_t ahead = prefetch_ahead();
  at::parallel_for(0, chunks, grain, [&](int64_t c0, int64_t c1) {
    const int64_t p0 = c0 * kChunk, p1 = std::min(P, c1 * kChunk);
    for (int64_t n = 0; n < N; n += 8) {
      const int64_t r = std::min<int64_t>(8, N - n);
      kTiles[r - 1](xp + n * K, K, wp, w.out, bp, ap ? ap + n * w.out : nullptr, yp + n * w.out,
                    p0, p1, ahead);
    }
  });
  return y;
}

torch::Tensor skinny_rows(const SkinnyWeight& w, const std::vector<int64_t>& outputs) {
  for (const int64_t o : outputs)
    TORCH_CHECK(o >= 0 && o < w.out, "skinny_rows: output ", o, " outside 0..", w.out - 1);
  const int64_t n = static_cast<int64_t>(outputs.size()), K = w.in;
  if (!w.panels)  // (K, O)
    return w.data.index_select(1, torch::tensor(outputs, torch::kLong)).t().contiguous();
  auto out = torch::empty({n, K});
  const float* d = w.data.data_ptr<float>();
  float* y = out.data_ptr<float>();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t o = outputs[static_cast<size_t>(r)];
    const float* col = d + (o / 16) * K * 16 + o % 16;  // panel o/16, lane o%16, stride 16
    for (int64_t k = 0; k < K; ++k) y[r * K + k] = col[k * 16];
  }
  return out;
}

}  // namespace elarin::nn
