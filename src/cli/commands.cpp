// The subcommand table: a new command is one file in src/cli/ and one row here.
#include "commands.hpp"

namespace elarin {

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = {
      {"brain",
       "run the brain (configs/default.yaml): it names what it senses and learns from reward alone",
       &cli::setup_brain},
      {"wipe", "delete the brain's saved state (the contents of brain.state_dir)",
       &cli::setup_wipe},
      {"region",
       "serve one region of the brain as its own process on the ZeroMQ bus (brain.transport=zmq)",
       &cli::setup_region},
      {"encode",
       "run a pretrained model (GPT-2, CLIP vision, Whisper, Llama, Qwen2-MoE) on an input",
       &cli::setup_encode},
      {"data", "load a dataset and print its counts, label histogram and value range",
       &cli::setup_data},
      {"train",
       "train a model: `train moe` (Bio-MoE on MNIST, Fashion-MNIST, Split-MNIST), `train lm` "
       "(Elara LM on text), `train tokenizer` (SentencePiece), `train vision` (CLIP vision tower)",
       &cli::setup_train},
      {"sample",
       "generate from an Elara LM: a `train lm` checkpoint or a Hugging Face Llama / Qwen2-MoE",
       &cli::setup_sample},
      {"chat",
       "talk with a model in the terminal: a Hugging Face chat model or an `elarin train lm` run",
       &cli::setup_chat},
      {"serve",
       "an OpenAI- and Ollama-compatible HTTP API for a model (continuous batching, API keys, "
       "/metrics)",
       &cli::setup_serve},
      {"tokenize", "a model's token ids for a text, a file or a conversation in its chat template",
       &cli::setup_tokenize},
      {"verify",
       "check an Elara LM config: parameter counts, shapes, causality, backward, MoE load, "
       "recursion",
       &cli::setup_verify},
      {"bench", "speed benchmarks (matmul GFLOP/s against the BLAS in use)", &cli::setup_bench},
      {"config", "print the resolved config (defaults, then --config, then --set)",
       &cli::setup_config},
  };
  return table;
}

}  // namespace elarin
