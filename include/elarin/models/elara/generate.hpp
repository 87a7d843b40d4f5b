// Autoregressive decoding for the Elara LM with a KV cache: the prompt in one forward, then
// one token per step. Greedy at temperature 0, else softmax sampling at that temperature,
// optionally restricted to the top_k logits, from a seeded generator (same seed, same text).
// Leaves out draft-and-verify decoding (the diffusion head's, next in issue #4).
//
//   elarin::models::GenerateOptions o;  o.max_new_tokens = 16;  o.temperature = 0;
//   torch::Tensor ids = elarin::models::generate(lm, prompt, o);  // (1, T0) -> (1, T0 + 16)
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "elarin/models/elara/elara_model.hpp"

namespace elarin::models {

struct GenerateOptions {
  int64_t max_new_tokens = 100;  // tokens appended to the prompt
  double temperature = 1.0;      // 0 = greedy (argmax)
  int64_t top_k = 0;             // sample among the k most likely; 0 = all
  uint64_t seed = 1337;          // sampling generator seed
};

// prompt (1, T0) int64 ids -> (1, T0 + max_new_tokens). UsageError when the prompt is empty,
// holds an id outside the vocabulary, or prompt + new tokens exceed block_size.
torch::Tensor generate(ElaraModel& model, const torch::Tensor& prompt, const GenerateOptions& o);

}  // namespace elarin::models
