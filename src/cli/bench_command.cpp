// `elarin bench blas`: float32 matmul GFLOP/s with the configured threads, against one
// thread in the same run; `bench moe` (bench_moe.cpp) and `bench lm` (bench_lm.cpp).
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>

#include "bench_brain.hpp"
#include "bench_lm.hpp"
#include "bench_moe.hpp"
#include "commands.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/runtime.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/data/hf_tokenizer.hpp"

namespace elarin::cli {
namespace {

// Encoding speed: the files encoded whole, once to warm up, then `repeats` timed passes (the
// median is reported; the word cache stays warm, as in a server).
nlohmann::json bench_tokenizer(const std::string& dir, const std::vector<std::string>& files,
                               int repeats) {
  const double t0 = now_seconds();
  const auto tok = load_hf_tokenizer(dir);
  const double load = now_seconds() - t0;
  std::vector<std::string> texts;
  size_t bytes = 0, tokens = 0;
  for (const auto& f : files) {
    texts.push_back(read_file(f));
    bytes += texts.back().size();
    tokens += tok->encode(texts.back()).size();
  }
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const double start = now_seconds();
    for (const auto& t : texts) tok->encode(t);
    times.push_back(now_seconds() - start);
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double mb_s = static_cast<double>(bytes) / 1e6 / median;
  std::cout << "tokenizer " << dir << ": " << bytes << " bytes -> " << tokens << " tokens, " << mb_s
            << " MB/s (median of " << repeats << "), loaded in " << load << " s\n";
  return {{"model", dir},     {"bytes", bytes},       {"tokens", tokens},  {"seconds", median},
          {"mb_per_s", mb_s}, {"load_seconds", load}, {"repeats", repeats}};
}

// Best-of-`repeats` GFLOP/s of an (n x n) @ (n x n) float32 matmul.
double matmul_gflops(int64_t n, int repeats) {
  torch::manual_seed(0);
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up: thread pool and BLAS buffers
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    best = std::min(best, seconds_of([&] { torch::mm_out(c, a, b); }));
  }
  return 2.0 * n * n * n / best / 1e9;
}

}  // namespace

CommandRun setup_bench(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string what = "blas";
    int64_t size = 1024;
    int repeats = 5;
    bool json = false;
    BenchMoEOptions moe;
    BenchLmOptions lm;
    BenchBrainOptions brain;
    std::string model;
    std::vector<std::string> files;
  };
  auto o = std::make_shared<Options>();
  app.add_option(
         "what", o->what,
         "blas (matmul GFLOP/s) | moe (sparse vs dense dispatch) | lm (training and "
         "AR vs draft-and-verify decoding tokens/s) | naming (the brain naming digits from reward, "
         "its ablations and bandit baselines; `brain` would clash with the command) | bus (that "
         "brain in one process against one process per region over ZeroMQ) | rule (a rule that "
         "needs working memory: the pfc with learned gating, the recency pfc and no pfc) | "
         "tokenizer (encoding MB/s of a Hugging Face tokenizer on text files) | lora (a pretrained "
         "retina's online LoRA adapters against its frozen base, same stream)")
      ->check(CLI::IsMember({"blas", "moe", "lm", "naming", "bus", "rule", "tokenizer", "lora"}));
  app.add_option("--model", o->model, "tokenizer: Hugging Face model directory")
      ->check(CLI::ExistingDirectory);
  app.add_option("--file", o->files, "tokenizer: UTF-8 text files (each encoded whole)")
      ->check(CLI::ExistingFile);
  app.add_option("--config", o->brain.config_file,
                 "naming, bus, rule: config (default: configs/default.yaml; rule: "
                 "configs/rule.yaml)");
  app.add_option("--set", o->brain.overrides, "naming, bus, rule, lora: override a key");
  app.add_option("--episodes", o->brain.episodes,
                 "naming, bus, rule: episodes (rule: trials) per run")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seeds", o->brain.seeds, "naming, rule, lora: stream orders")
      ->check(CLI::Range(1, 100));
  app.add_option("--dir", o->brain.dir,
                 "naming, bus, rule: state directories (default: <log.runs_dir>/bench-brain, "
                 "rule: <log.runs_dir>/bench-rule)");
  app.add_option("--checkpoint", o->lm.checkpoint,
                 "lm: model.safetensors of a `train lm` run with a diffusion head")
      ->check(CLI::ExistingFile);
  app.add_option("--prompt", o->lm.prompt, "lm: decoding prompt");
  app.add_option("--new-tokens", o->lm.new_tokens, "lm: tokens per decode (0 = fill the context)")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--train-steps", o->lm.train_steps, "lm: timed training steps")
      ->check(CLI::Range(1, 100000));
  app.add_option("--experts", o->moe.experts, "moe: experts")->check(CLI::Range(1, 256));
  app.add_option("--top-k", o->moe.top_k, "moe: routed experts per row")->check(CLI::Range(1, 256));
  app.add_option("--batch", o->moe.batch, "moe: rows per step")->check(CLI::Range(1, 65536));
  app.add_option("--d-model", o->moe.d_model, "moe: row width")->check(CLI::Range(1, 65536));
  app.add_option("--hidden", o->moe.hidden, "moe: expert hidden units")
      ->check(CLI::Range(1, 65536));
  app.add_option("--steps", o->moe.steps, "moe: steps per timed round")
      ->check(CLI::Range(1, 10000));
  app.add_option("--rounds", o->moe.rounds, "moe: interleaved rounds")->check(CLI::Range(1, 1000));
  app.add_option("--size", o->size, "matrix side")->check(CLI::Range(16, 8192));
  app.add_option("--repeats", o->repeats, "timed repetitions (best is reported)")
      ->check(CLI::Range(1, 1000));
  app.add_flag("--json", o->json, "end stdout with one JSON object of the results");
  return [o, &global]() {
    if (o->what == "naming" || o->what == "bus" || o->what == "rule" || o->what == "lora") {
      o->brain.overrides.insert(o->brain.overrides.begin(), global.overrides.begin(),
                                global.overrides.end());
      auto j = o->what == "naming" ? bench_brain(o->brain)
               : o->what == "bus"  ? bench_bus(o->brain)
               : o->what == "lora" ? bench_lora(o->brain)
                                   : bench_rule(o->brain);
      if (o->json) std::cout << j.dump() << "\n";
      return 0;
    }
    if (o->what == "lm") {
      if (o->lm.checkpoint.empty())
        throw UsageError("bench lm: give --checkpoint runs/NAME/model.safetensors");
      o->lm.rounds = o->moe.rounds;
      auto j = bench_lm(o->lm);
      if (o->json) std::cout << j.dump() << "\n";
      return 0;
    }
    if (o->what == "tokenizer") {
      if (o->model.empty() || o->files.empty())
        throw UsageError("bench tokenizer: give --model DIR and at least one --file");
      auto j = bench_tokenizer(o->model, o->files, o->repeats);
      if (o->json) std::cout << j.dump() << "\n";
      return 0;
    }
    if (o->what == "moe") {
      if (o->moe.top_k > o->moe.experts)
        throw UsageError("bench moe: --top-k " + std::to_string(o->moe.top_k) +
                         " exceeds --experts " + std::to_string(o->moe.experts));
      auto j = bench_moe(o->moe);
      if (o->json) std::cout << j.dump() << "\n";
      return 0;
    }
    BlasInfo blas = detect_blas();
    const int threads = at::get_num_threads();
    const double multi = matmul_gflops(o->size, o->repeats);
    at::set_num_threads(1);
    const double single = matmul_gflops(o->size, o->repeats);
    at::set_num_threads(threads);
    std::cout << "blas: " << blas.name << "\n"
              << "matmul " << o->size << "x" << o->size << " f32: " << multi << " GFLOP/s with "
              << threads << " threads, " << single << " GFLOP/s with 1 thread (ratio "
              << multi / single << ")\n";
    if (!blas.fast) std::cout << "warning: " << blas.hint << "\n";
    if (o->json) {
      nlohmann::json j = {{"blas", blas.name},         {"size", o->size},
                          {"threads", threads},        {"gflops", multi},
                          {"gflops_1_thread", single}, {"thread_speedup", multi / single}};
      std::cout << j.dump() << "\n";
    }
    return 0;
  };
}

}  // namespace elarin::cli
