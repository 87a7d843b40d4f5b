// The server's sampler: greedy is argmax; log-probabilities are log_softmax of the raw logits
// (within 1e-5) with the alternatives sorted; draws follow softmax(logits / T) restricted to
// top_k and the top_p nucleus (frequencies within 0.02 over 40,000 draws); a seed reproduces.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <vector>

#include "elarin/core/runtime.hpp"
#include "elarin/serve/sampler.hpp"

namespace {

using elarin::serve::Sampler;
using elarin::serve::SamplingParams;

std::vector<double> frequencies(const SamplingParams& p, const std::vector<float>& logits, int draws) {
  Sampler s(p);
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i) f[static_cast<size_t>(s.pick(logits.data(), static_cast<int64_t>(logits.size())).id)] += 1.0 / draws;
  return f;
}

TEST(ServeSampler, GreedyPicksTheArgmaxAndLogprobsAreLogSoftmax) {
  torch::manual_seed(3);
  auto logits = torch::randn({1000}) * 3;
  std::vector<float> v(logits.data_ptr<float>(), logits.data_ptr<float>() + 1000);
  SamplingParams p;
  p.temperature = 0;
  p.top_logprobs = 5;
  const auto c = Sampler(p).pick(v.data(), 1000);
  EXPECT_EQ(c.id, logits.argmax().item<int64_t>());
  auto ref = torch::log_softmax(logits.to(torch::kDouble), 0);
  EXPECT_NEAR(c.logprob, ref[c.id].item<double>(), 1e-5);
  ASSERT_EQ(c.top.size(), 5u);
  auto [vals, idx] = ref.topk(5);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(c.top[i].first, idx[static_cast<int64_t>(i)].item<int64_t>());
    EXPECT_NEAR(c.top[i].second, vals[static_cast<int64_t>(i)].item<double>(), 1e-5);
  }
  p.top_logprobs = -1;
  EXPECT_TRUE(Sampler(p).pick(v.data(), 1000).top.empty());
}

TEST(ServeSampler, DrawsFollowTheTemperatureTopKAndTopP) {
  const std::vector<float> logits = {2.0f, 1.5f, 0.5f, -1.0f, 0.0f};
  const auto softmax = [&](double t, std::vector<int> keep) {
    std::vector<double> p(logits.size(), 0.0);
    double z = 0;
    for (int i : keep) z += std::exp(logits[static_cast<size_t>(i)] / t);
    for (int i : keep) p[static_cast<size_t>(i)] = std::exp(logits[static_cast<size_t>(i)] / t) / z;
    return p;
  };
  const int n = 40000;
  SamplingParams p;
  p.seed = 11;
  for (double t : {1.0, 0.5, 2.0}) {
    p.temperature = t;
    const auto f = frequencies(p, logits, n);
    const auto want = softmax(t, {0, 1, 2, 3, 4});
    for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], want[i], 0.02) << "T " << t << " id " << i;
  }
  p.temperature = 1;
  p.top_k = 2;
  auto f = frequencies(p, logits, n);
  auto want = softmax(1, {0, 1});
  for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], want[i], 0.02) << "top_k id " << i;
  // Probabilities at T=1: .496 .301 .111 .025 .067: top_p .7 keeps ids 0 and 1 (.797), .8 adds
  // id 2 (the next most likely).
  p.top_k = 0;
  p.top_p = 0.7;
  f = frequencies(p, logits, n);
  want = softmax(1, {0, 1});
  for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], want[i], 0.02) << "top_p .7 id " << i;
  p.top_p = 0.8;
  f = frequencies(p, logits, n);
  want = softmax(1, {0, 1, 2});
  for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], want[i], 0.02) << "top_p .8 id " << i;
}

// Greedy over a real vocabulary's width (the lane-wise maximum): the first of tied maxima, a
// maximum in the tail past the last full lane block, rows shorter than a block, NaNs ignored.
TEST(ServeSampler, GreedyIsTheFirstMaximumAtEveryWidth) {
  SamplingParams p;
  p.temperature = 0;
  torch::manual_seed(9);
  for (bool avx512 : {true, false})
  for (int64_t V : {1, 7, 31, 32, 33, 1000, 151669}) {
    elarin::set_avx512_kernels(avx512);
    auto logits = torch::randn({V});
    std::vector<float> v(logits.data_ptr<float>(), logits.data_ptr<float>() + V);
    EXPECT_EQ(Sampler(p).pick(v.data(), V).id, logits.argmax().item<int64_t>()) << "V=" << V;
    v[static_cast<size_t>(V - 1)] = 100.0f;  // in the tail
    EXPECT_EQ(Sampler(p).pick(v.data(), V).id, V - 1) << "V=" << V;
    if (V > 3) {
      v[static_cast<size_t>(V / 2)] = 100.0f;  // a tie: the first wins
      v[1] = std::nanf("");
      EXPECT_EQ(Sampler(p).pick(v.data(), V).id, V / 2) << "V=" << V;
    }
  }
  elarin::set_avx512_kernels(true);
}

TEST(ServeSampler, ASeedReproducesItsDraws) {
  std::vector<float> logits(300);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(i * 0.37));
  SamplingParams p;
  p.seed = 5;
  p.top_p = 0.9;
  Sampler a(p), b(p);
  p.seed = 6;
  Sampler c(p);
  int differ = 0;
  for (int i = 0; i < 50; ++i) {
    const auto x = a.pick(logits.data(), 300).id;
    EXPECT_EQ(x, b.pick(logits.data(), 300).id);
    differ += x != c.pick(logits.data(), 300).id;
  }
  EXPECT_GT(differ, 10);
}

}  // namespace
