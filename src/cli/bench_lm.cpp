// `elarin bench lm` (see the header).
#include "bench_lm.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <iostream>

#include "elarin/core/errors.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/models/elara/generate.hpp"
#include "elarin/models/elara/lm_trainer.hpp"
#include "elarin/nn/data_parallel.hpp"
#include "elarin/nn/fused_adamw.hpp"
#include "lm_checkpoint.hpp"

namespace elarin::cli {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Tokens per second of train lm's step (data-parallel shards, forward + backward + AdamW) on
// random ids, batch 12 x block_size, on a fresh copy of the architecture.
double training_tokens_per_s(const models::ElaraConfig& cfg, int steps) {
  torch::manual_seed(0);
  models::ElaraModel lm(cfg);
  lm->train();
  const auto params = lm->parameters();
  nn::FusedAdamW opt(params, nn::AdamWOptions{});
  const int64_t B = 12, T = cfg.block_size, V = cfg.vocab_size;
  const auto shards = nn::split_rows(B, at::get_num_threads());
  auto step = [&] {
    auto x = torch::randint(V, {B, T}, torch::kLong), y = torch::randint(V, {B, T}, torch::kLong);
    models::lm_accumulate_step(lm, params, shards, x, y, nullptr, 0.0, 0.0, 1.0);
    opt.step();
    opt.zero_grad();
  };
  for (int i = 0; i < 3; ++i) step();
  const double s = seconds_of([&] {
    for (int i = 0; i < steps; ++i) step();
  });
  return static_cast<double>(B * T * steps) / s;
}

}  // namespace

nlohmann::json bench_lm(const BenchLmOptions& o) {
  auto [lm, tok] = load_run_checkpoint(o.checkpoint);
  const auto& cfg = lm->config();
  if (!cfg.use_diffusion_head)
    throw UsageError("bench lm: '" + o.checkpoint +
                     "' has no diffusion head; train one with lm.model.use_diffusion_head: true "
                     "(e.g. configs/lm/char-baby-draft.yaml)");
  auto ids = tok.encode(o.prompt);
  if (ids.empty()) throw UsageError("bench lm: the prompt encodes to no tokens");
  auto prompt = torch::tensor(ids, torch::kLong).unsqueeze(0);
  models::GenerateOptions g;
  g.temperature = 0;
  g.max_new_tokens = o.new_tokens > 0 ? o.new_tokens : cfg.block_size - prompt.size(1);
  std::vector<double> ar_s, draft_s;
  models::DraftStats stats;
  bool same = true;
  // One decoder (the weight copy in the decoding layout) for every round and both modes, as
  // a server would keep it: the timings are decoding, prompt included, not the copy.
  models::ElaraDecoder dec(lm);
  for (int r = 0; r < o.rounds; ++r) {
    torch::Tensor a, d;
    ar_s.push_back(seconds_of([&] { a = models::generate(dec, prompt, g); }));
    draft_s.push_back(seconds_of([&] { d = models::generate_draft(dec, prompt, g, &stats); }));
    same = same && torch::equal(a, d);
  }
  const double n = static_cast<double>(g.max_new_tokens);
  const double ar_tps = n / median(ar_s), draft_tps = n / median(draft_s);
  const double train_tps = training_tokens_per_s(cfg, o.train_steps);
  std::cout << "bench lm " << o.checkpoint << ": training " << train_tps
            << " tokens/s; decoding batch 1, " << g.max_new_tokens << " tokens: AR " << ar_tps
            << " tokens/s, draft-and-verify " << draft_tps << " tokens/s (ratio "
            << draft_tps / ar_tps << ", acceptance " << stats.acceptance() << ", " << stats.passes
            << " passes), same output: " << (same ? "yes" : "NO") << "\n";
  return {{"train_tokens_per_s", train_tps},
          {"ar_tokens_per_s", ar_tps},
          {"draft_tokens_per_s", draft_tps},
          {"draft_speedup", draft_tps / ar_tps},
          {"acceptance_rate", stats.acceptance()},
          {"draft_passes", stats.passes},
          // What a pass costs against an AR step (prompt included in both): the speed-up is
          // tokens per pass over this ratio.
          {"ar_ms_per_token", 1e3 * median(ar_s) / n},
          {"draft_ms_per_pass",
           1e3 * median(draft_s) / static_cast<double>(std::max<int64_t>(1, stats.passes))},
          {"new_tokens", g.max_new_tokens},
          {"draft_len", cfg.draft_len},
          {"same_output", same},
          {"rounds", o.rounds}};
}

}  // namespace elarin::cli
