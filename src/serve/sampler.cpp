// Next-token sampling and log-probabilities for the server (see the header).
#include "elarin/serve/sampler.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/avx512.hpp"
#include "elarin/core/runtime.hpp"

namespace elarin::serve {
// The first index of the largest value: NaNs never win; a row of NaNs alone gives 0.
ELARIN_AVX512_BEGIN
namespace {
int64_t argmax_avx512(const float* v, int64_t n) {
  const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 m = lowest;
  for (int64_t i = 0; i < n; i += 16)  // max(x, m) keeps m where x is NaN
    m = _mm512_max_ps(_mm512_mask_loadu_ps(lowest, avx512_lanes(n - i), v + i), m);
  const __m512 best = _mm512_set1_ps(_mm512_reduce_max_ps(m));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 eq =
        _mm512_mask_cmp_ps_mask(avx512_lanes(n - i), _mm512_loadu_ps(v + i), best, _CMP_EQ_OQ);
    if (eq) return i + __builtin_ctz(eq);
  }
  return 0;
}
}  // namespace
ELARIN_AVX512_END

namespace {

int64_t argmax(const float* v, int64_t n) {
  if (cpu_has_avx512f()) return argmax_avx512(v, n);
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = v[i] > m ? v[i] : m;
  for (int64_t i = 0; i < n; ++i)
    if (v[i] == m) return i;
  return 0;
}

// log sum exp of the row, for log-softmax (vectorised by ATen, the maximum taken out first).
double log_sum_exp(const float* v, int64_t n) {
  return at::logsumexp(at::from_blob(const_cast<float*>(v), {n}, at::kFloat), 0).item<double>();
}

// Moves the k largest of cand (by score) to its front, sorted best first.
void top_sorted(std::vector<std::pair<float, int64_t>>* cand, size_t k) {
  k = std::min(k, cand->size());
  std::partial_sort(cand->begin(), cand->begin() + static_cast<std::ptrdiff_t>(k), cand->end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
}

}  // namespace

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

TokenChoice Sampler::pick(const float* logits, int64_t V) {
  TokenChoice c;
  if (p_.temperature <= 0) {
    c.id = argmax(logits, V);
  } else {
    // Candidates: every token, or the top_k; then their softmax at the temperature.
    cand_.resize(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; ++i) cand_[static_cast<size_t>(i)] = {logits[i], i};
    size_t n = cand_.size();
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
      std::nth_element(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      n = static_cast<size_t>(p_.top_k);
      cand_.resize(n);
    }
    float mx = -std::numeric_limits<float>::infinity();
    for (const auto& [s, id] : cand_) mx = std::max(mx, s);
    // Weights exp((s - max) / T), the exponentials vectorised by ATen.
    const float inv_t = static_cast<float>(1.0 / p_.temperature);
    weights_.resize(n);
    for (size_t j = 0; j < n; ++j) weights_[j] = (cand_[j].first - mx) * inv_t;
    at::from_blob(weights_.data(), {static_cast<int64_t>(n)}, at::kFloat).exp_();
    double total = 0;
    for (size_t j = 0; j < n; ++j) {
      cand_[j].first = weights_[j];
      total += weights_[j];
    }
    if (p_.top_p < 1.0) {
      // The nucleus: sort only as far as needed (a few dozen tokens usually hold top_p).
      size_t k = std::min<size_t>(64, n);
      for (;;) {
        top_sorted(&cand_, k);
        double sum = 0;
        size_t keep = 0;
        while (keep < k && sum < p_.top_p * total) sum += cand_[keep++].first;
        if (sum >= p_.top_p * total || k == n) {
          cand_.resize(std::max<size_t>(keep, 1));
          total = 0;
          for (const auto& e : cand_) total += e.first;
          break;
        }
        k = std::min(n, k * 16);
      }
    }
    double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
    c.id = cand_.back().second;
    for (const auto& [w, id] : cand_) {
      if (u < w) {
        c.id = id;
        break;
      }
      u -= w;
    }
  }
  if (p_.top_logprobs >= 0) {
    const double lse = log_sum_exp(logits, V);
    c.logprob = static_cast<float>(logits[c.id] - lse);
    if (p_.top_logprobs > 0) {
      cand_.resize(static_cast<size_t>(V));
      for (int64_t i = 0; i < V; ++i) cand_[static_cast<size_t>(i)] = {logits[i], i};
      top_sorted(&cand_, static_cast<size_t>(p_.top_logprobs));
      for (int i = 0; i < p_.top_logprobs && i < V; ++i)
        c.top.emplace_back(cand_[static_cast<size_t>(i)].second,
                           static_cast<float>(cand_[static_cast<size_t>(i)].first - lse));
    }
  }
  return c;
}

}  // namespace elarin::serve
