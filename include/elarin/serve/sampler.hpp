// Picking the next token of one sequence from its logits, as a serving API asks: greedy at
// temperature 0, else softmax at that temperature over the top_k logits and the top_p nucleus,
// from a generator seeded per request (same seed, same text). Also the log-probabilities an
// API reports: the picked token's and its most likely alternatives', under the model's own
// distribution (softmax of the raw logits, whatever the temperature). Leaves out repetition
// penalties and grammars.
//
//   elarin::serve::SamplingParams p;
//   p.temperature = 0.7;  p.top_p = 0.9;  p.seed = 42;  p.top_logprobs = 2;
//   elarin::serve::Sampler sampler(p);
//   std::vector<float> logits = {0.1f, 2.0f, -1.0f, 0.5f};
//   elarin::serve::TokenChoice c = sampler.pick(logits.data(), 4);  // c.id, c.logprob, c.top
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace elarin::serve {

struct SamplingParams {
  double temperature = 1.0;  // 0 = greedy (argmax)
  double top_p = 1.0;        // sample among the most likely tokens whose probabilities sum to this
  int64_t top_k = 0;         // sample among the k most likely; 0 = all
  uint64_t seed = 0;         // the generator's seed
  int top_logprobs = -1;     // -1: no log-probabilities; 0..20: the picked token's and that many more
};

struct TokenChoice {
  int64_t id = 0;
  float logprob = 0;                           // log p(id), when top_logprobs >= 0
  std::vector<std::pair<int64_t, float>> top;  // the top_logprobs most likely (id, log p), best first
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // logits: the V scores of one position (float32, contiguous).
  TokenChoice pick(const float* logits, int64_t V);

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int64_t>> cand_;  // scratch: (score, id)
  std::vector<float> weights_;                   // scratch: the candidates' exp weights
};

}  // namespace elarin::serve
