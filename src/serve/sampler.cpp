// Next-token sampling and log-probabilities for the server (see the header).
#include "elarin/serve/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace elarin::serve {
namespace {

int64_t argmax(const float* v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

// log sum exp of the row, for log-softmax.
double log_sum_exp(const float* v, int64_t n, float mx) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(v[i] - mx));
  return mx + std::log(s);
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
    const double inv_t = 1.0 / p_.temperature;
    double total = 0;
    for (auto& [s, id] : cand_) {
      s = static_cast<float>(std::exp((s - mx) * inv_t));
      total += s;
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
    const float mx = logits[argmax(logits, V)];
    const double lse = log_sum_exp(logits, V, mx);
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
