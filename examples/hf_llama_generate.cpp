// Loads a Hugging Face Llama (or Qwen2 / Qwen2-MoE) directory and greedily generates tokens.
//
//   build/examples/hf_llama_generate DIR [IDS] [NEW]   DIR: config.json + model.safetensors
//   build/examples/hf_llama_generate ../shared/fixtures/llama-tiny 1,22,7 8
// elarin reads no tokenizer for these models: the prompt and the output are token ids.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "elarin/models/elara/decoder.hpp"
#include "elarin/models/elara/generate.hpp"
#include "elarin/models/hf/hf_config.hpp"
#include "elarin/models/hf/llama.hpp"

namespace {

// "3,17,5" -> {3, 17, 5}
std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) ids.push_back(std::stoll(item));
  return ids;
}

void print_ids(const char* label, const torch::Tensor& ids) {  // (1, T)
  std::printf("%s", label);
  for (int64_t i = 0; i < ids.size(1); ++i)
    std::printf(" %lld", (long long)ids[0][i].item<int64_t>());
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s HF_DIR [IDS=1,22,7] [NEW_TOKENS=8]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const auto prompt_ids = parse_ids(argc > 2 ? argv[2] : "1,22,7");
  const int64_t new_tokens = argc > 3 ? std::atoll(argv[3]) : 8;
  torch::NoGradGuard no_grad;

  // config.json maps onto ElaraConfig; the weights load by name into an Elara model.
  const auto cfg = elarin::hf_elara_config(elarin::HfConfig::load(dir));
  elarin::models::ElaraModel lm = elarin::load_hf_elara(dir);
  lm->eval();
  std::printf("%s: %lld layers, width %lld, %lld heads (%lld kv), vocab %lld, %lld parameters\n",
              dir.c_str(), (long long)cfg.n_layer, (long long)cfg.n_embd, (long long)cfg.n_head,
              (long long)cfg.n_kv_head, (long long)cfg.vocab_size,
              (long long)lm->parameter_count());

  const auto prompt = torch::tensor(prompt_ids, torch::kLong).unsqueeze(0);  // (1, T0)
  print_ids("prompt:   ", prompt);

  // The full forward pass: logits at every position; the last one predicts the next token.
  const auto logits = lm->forward(prompt).logits;  // (1, T0, V)
  const auto top = logits[0][-1].softmax(0).topk(3);
  std::printf("next token, top 3:");
  for (int64_t i = 0; i < 3; ++i)
    std::printf(" %lld (p=%.3f)", (long long)std::get<1>(top)[i].item<int64_t>(),
                std::get<0>(top)[i].item<double>());
  std::printf("\n");

  // Greedy decoding (temperature 0) through the batch-1 decoder with its KV cache.
  elarin::models::GenerateOptions o;
  o.max_new_tokens = new_tokens;
  o.temperature = 0;
  const auto ids = elarin::models::generate(lm, prompt, o);  // (1, T0 + new_tokens)
  print_ids("generated:", ids);

  // The same decoder by hand: feed the prompt once, then one token per step.
  elarin::models::ElaraDecoder dec(lm);
  auto out = dec.forward(prompt_ids);  // logits (T0, V); T0 positions cached
  std::vector<int64_t> by_hand = prompt_ids;
  for (int64_t i = 0; i < new_tokens; ++i) {
    const int64_t next = out.logits[-1].argmax().item<int64_t>();
    by_hand.push_back(next);
    if (i + 1 < new_tokens) out = dec.forward({next});  // logits (1, V)
  }
  const bool same = torch::equal(torch::tensor(by_hand, torch::kLong).unsqueeze(0), ids);
  std::printf("step-by-step decoder agrees: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
} catch (const std::exception& e) {  // elarin throws UsageError, Error, FormatError
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
