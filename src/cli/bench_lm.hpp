// `elarin bench lm` (src/cli/bench_lm.cpp): training tokens/s of a `train lm` model's
// architecture, and batch-1 greedy decoding tokens/s, autoregressive against
// draft-and-verify, in one run (interleaved rounds, medians), with the acceptance rate and a
// check that both decoders wrote the same tokens.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace elarin::cli {

struct BenchLmOptions {
  std::string checkpoint;           // model.safetensors of a `train lm` run
  std::string prompt = "ROMEO:\n";  // decoding prompt (character level)
  int64_t new_tokens = 0;           // tokens per decode; 0 = fill the context
  int rounds = 5;                   // interleaved AR / draft rounds
  int train_steps = 20;             // timed training steps (after 3 warm-up steps)
};

nlohmann::json bench_lm(const BenchLmOptions& options);

}  // namespace elarin::cli
