// Decoding for the Elara LM, batch 1, through ElaraDecoder (the fast inference path):
// the prompt in one pass, then one token per step. Greedy at temperature 0, else softmax
// sampling at that temperature, optionally restricted to the top_k logits, from a seeded
// generator (same seed, same text). generate_draft is draft-and-verify with the diffusion
// head (TiDAR): each pass feeds the next certain token and the pending drafts causally, plus
// one block of draft_len masks after each possible kept prefix; the AR head verifies the
// drafts (greedy: the longest agreeing prefix; sampling: speculative acceptance) and the
// block after the kept prefix holds the next drafts, so greedy output equals generate()'s
// token for token.
//
//   elarin::models::ElaraConfig cfg;
//   elarin::models::ElaraModel lm(cfg);
//   torch::Tensor prompt = torch::tensor(std::vector<int64_t>{5, 17, 3}).unsqueeze(0);  // (1, T0)
//   elarin::models::GenerateOptions o;
//   o.max_new_tokens = 16;  o.temperature = 0;  // greedy
//   torch::Tensor ids = elarin::models::generate(lm, prompt, o);  // (1, T0) -> (1, T0 + 16)
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "elarin/models/elara/decoder.hpp"
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
// The same on a decoder built once (its weight copy) and reused across calls; it is cleared
// first. The model-taking forms build one per call.
torch::Tensor generate(ElaraDecoder& dec, const torch::Tensor& prompt, const GenerateOptions& o);

// Streaming decoding for chat: `cached` are the ids the decoder's cache holds now (from the
// previous call); the longest common prefix with `prompt` is kept and the rest fed, so a chat's
// earlier turns are not recomputed. Each new id goes to on_token, which returns false to stop
// (Ctrl+C); decoding also stops after an id of stop_ids (passed on, and returned) or
// max_new_tokens, and at the end of the context. Returns the new ids; *cached becomes what the
// cache holds. UsageError when the prompt alone fills the context or holds a bad id.
std::vector<int64_t> generate_stream(ElaraDecoder& dec, std::vector<int64_t>* cached,
                                     const std::vector<int64_t>& prompt, const GenerateOptions& o,
                                     const std::vector<int64_t>& stop_ids,
                                     const std::function<bool(int64_t)>& on_token);

struct DraftStats {
  int64_t passes = 0;    // forward passes after the prompt
  int64_t proposed = 0;  // drafts offered for verification
  int64_t accepted = 0;  // drafts kept
  double acceptance() const { return proposed > 0 ? double(accepted) / double(proposed) : 0.0; }
};

// As generate(), by draft-and-verify; needs a model with a diffusion head (UsageError
// otherwise). Fills *stats when given.
torch::Tensor generate_draft(ElaraModel& model, const torch::Tensor& prompt,
                             const GenerateOptions& o, DraftStats* stats = nullptr);
torch::Tensor generate_draft(ElaraDecoder& dec, const torch::Tensor& prompt,
                             const GenerateOptions& o, DraftStats* stats = nullptr);

}  // namespace elarin::models
