// `elarin sample`: text or token ids from an Elara LM, either a run of `elarin train lm`
// (--checkpoint runs/NAME/model.safetensors) or a Hugging Face Llama / Qwen2 / Qwen3 / MoE
// directory (--model DIR; --prompt needs its tokenizer files, --ids does not). Autoregressive
// decoding with a KV cache; --temperature 0 is greedy. With --json the last line is
// {"ids": [...], "text": ..., ...}.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>

#include <iostream>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/char_tokenizer.hpp"
#include "elarin/data/hf_tokenizer.hpp"
#include "elarin/models/elara/generate.hpp"
#include "elarin/models/hf/llama.hpp"
#include "lm_checkpoint.hpp"
#include "parse_ids.hpp"
#include "text_model.hpp"

namespace elarin::cli {
namespace {

struct SampleOptions {
  std::string model;
  std::string checkpoint;
  std::string prompt;
  std::string ids;
  std::string mode = "ar";
  models::GenerateOptions gen;
  bool json = false;
};

}  // namespace

CommandRun setup_sample(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<SampleOptions>();
  auto* model = app.add_option("--model", o->model,
                               "Hugging Face Llama / Qwen2 / Qwen2-MoE directory (config.json + "
                               "model.safetensors)")
                    ->check(CLI::ExistingDirectory);
  auto* ck =
      app.add_option("--checkpoint", o->checkpoint, "model.safetensors of an `elarin train lm` run")
          ->check(CLI::ExistingFile);
  model->excludes(ck);
  auto* prompt = app.add_option("--prompt", o->prompt,
                                "prompt text (a --model directory needs its tokenizer files)");
  auto* ids = app.add_option("--ids", o->ids, "prompt token ids: 3,17,5");
  prompt->excludes(ids);
  add_sampling_options(app, &o->gen);
  app.add_option("--mode", o->mode, "ar (autoregressive) | draft (draft-and-verify)")
      ->check(CLI::IsMember({"ar", "draft"}));
  app.add_flag("--json", o->json,
               "end stdout with {\"ids\": [...], \"text\": ..., \"acceptance_rate\": ...}");
  return [o]() {
    if (o->model.empty() == o->checkpoint.empty())
      throw UsageError("sample: give one model: --model DIR (Hugging Face) or --checkpoint FILE");
    models::ElaraModel lm{nullptr};
    std::optional<RunTokenizer> tok;
    std::shared_ptr<const HfTokenizer> hf;
    if (!o->model.empty()) {
      lm = load_hf_elara(o->model);
      if (!o->prompt.empty() || has_hf_tokenizer(o->model)) hf = load_hf_tokenizer(o->model);
    } else {
      auto loaded = load_run_checkpoint(o->checkpoint);
      lm = loaded.first;
      tok = loaded.second;
    }
    torch::Tensor prompt_ids;
    if (!o->ids.empty()) {
      prompt_ids = parse_ids(o->ids);
    } else if (hf) {
      // Plain text as the model expects it: with its special tokens (Llama 2's BOS).
      const auto ids = hf->encode(o->prompt, /*add_special_tokens=*/true);
      if (ids.empty()) throw UsageError("sample --prompt: the text encodes to no tokens");
      prompt_ids = torch::tensor(ids, torch::kLong).unsqueeze(0);
    } else if (tok) {
      const std::string text = o->prompt.empty() ? "\n" : o->prompt;
      prompt_ids = torch::tensor(tok->encode(text), torch::kLong).unsqueeze(0);
    } else {
      throw UsageError("sample: give a prompt: --ids 1,2,3");
    }
    if (prompt_ids.size(0) != 1) throw UsageError("sample --ids: one row of ids, got several");
    models::DraftStats stats;
    // The decoder's weight copy is made before the clock starts: tokens_per_s is decoding alone
    // (prompt included), the figure `bench/serve.mjs` compares the server with.
    models::ElaraDecoder dec(lm);
    const auto t0 = std::chrono::steady_clock::now();
    auto out = o->mode == "draft" ? models::generate_draft(dec, prompt_ids, o->gen, &stats)
                                  : models::generate(dec, prompt_ids, o->gen);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<int64_t> v(out.data_ptr<int64_t>(), out.data_ptr<int64_t>() + out.numel());
    nlohmann::json j;
    j["mode"] = o->mode;
    if (o->mode == "draft") {
      j["acceptance_rate"] = stats.acceptance();
      j["passes"] = stats.passes;
      std::cerr << "draft-and-verify: " << stats.accepted << " of " << stats.proposed
                << " drafts accepted (" << stats.acceptance() << "), " << stats.passes
                << " passes for " << o->gen.max_new_tokens << " tokens\n";
    }
    j["ids"] = v;
    j["seconds"] = seconds;
    j["tokens_per_s"] = seconds > 0 ? static_cast<double>(o->gen.max_new_tokens) / seconds : 0.0;
    if (hf) {
      j["text"] = hf->decode_text(v, /*skip_special_tokens=*/false);
      std::cout << j["text"].get<std::string>() << "\n";
    } else if (tok) {
      j["text"] = tok->decode(v);
      std::cout << j["text"].get<std::string>() << "\n";
    } else {
      for (size_t i = 0; i < v.size(); ++i) std::cout << (i ? "," : "") << v[i];
      std::cout << "\n";
    }
    if (o->json) std::cout << j.dump() << "\n";
    return 0;
  };
}

}  // namespace elarin::cli
