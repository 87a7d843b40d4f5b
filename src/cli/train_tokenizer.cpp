// `elarin train tokenizer`: a SentencePiece model from a text file, a folder of them, or
// Debian's fortunes, trained by the real spm_train (data/sentencepiece_trainer) and read back
// with elarin's own reader. Leaves out encoding files (the reader is a library API).
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/data/sentencepiece_trainer.hpp"
#include "elarin/data/text_corpus.hpp"

namespace elarin::cli {
namespace {

struct TrainTokenizerOptions {
  std::string input;
  std::string user_symbols;  // comma-separated
  SpmTrainOptions spm;
  bool json = false;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

int run_train_tokenizer(TrainTokenizerOptions o, const GlobalOptions& global) {
  o.spm.user_symbols = split_commas(o.user_symbols);
  o.spm.num_threads = at::get_num_threads();  // --threads or runtime.threads, resolved
  validate(o.spm);                            // usage errors before the corpus is read
  const auto t0 = std::chrono::steady_clock::now();
  const TextCorpus corpus = o.input == "fortunes" ? load_fortunes() : load_text_corpus(o.input);
  const double load_s = seconds_since(t0);
  log_info("{}: {} records, {} bytes; streaming them to {} ({} model, {} pieces)", o.input,
           corpus.records.size(), corpus.text.size(), o.spm.program, o.spm.model_type,
           o.spm.vocab_size);
  const SpmTrainResult r = train_sentencepiece(corpus.records, o.spm);
  log_info("{} sentences ({} long lines split, {} control or malformed bytes removed)",
           r.clean.sentences, r.clean.split_lines, r.clean.removed_chars);
  std::cout << "train tokenizer " << o.input << ": " << r.pieces << " pieces (" << o.spm.model_type
            << ") -> " << r.model_path << " in " << r.seconds << " s\n";
  if (o.json) {
    nlohmann::json j = {{"pieces", r.pieces},
                        {"model", r.model_path},
                        {"vocab", r.vocab_path},
                        {"model_type", o.spm.model_type},
                        {"vocab_size", o.spm.vocab_size},
                        {"byte_fallback", o.spm.byte_fallback},
                        {"user_symbols", o.spm.user_symbols},
                        {"input", o.input},
                        {"records", corpus.records.size()},
                        {"sentences", r.clean.sentences},
                        {"split_lines", r.clean.split_lines},
                        {"removed_chars", r.clean.removed_chars},
                        {"load_seconds", load_s},
                        {"seconds", r.seconds}};
    std::cout << j.dump() << "\n";
  }
  return 0;
}

}  // namespace

CLI::App* setup_train_tokenizer(CLI::App& train, const GlobalOptions& global, CommandRun* run) {
  auto o = std::make_shared<TrainTokenizerOptions>();
  auto* sub = train.add_subcommand(
      "tokenizer", "a SentencePiece model (spm_train) from text files or `fortunes`");
  sub->add_option("--input", o->input,
                  "a UTF-8 text file, a folder of them (one record per file), or `fortunes` for "
                  "Debian's fortune cookies (./fortunes names a local path)")
      ->required();
  sub->add_option("--output", o->spm.output_prefix,
                  "path prefix: writes PREFIX.model and PREFIX.vocab")
      ->required();
  sub->add_option("--vocab_size", o->spm.vocab_size, "pieces in the model");
  sub->add_option("--model_type", o->spm.model_type, "unigram | bpe");
  sub->add_flag("--byte_fallback", o->spm.byte_fallback,
                "unknown characters become UTF-8 byte pieces <0x00>..<0xFF> instead of <unk>");
  sub->add_option("--user_symbols", o->user_symbols,
                  "comma-separated pieces kept whole, e.g. \"<INST>,<INP>,<RESP>,<SEP>\"");
  sub->add_flag("--json", o->json, "end stdout with one JSON object (pieces, model, seconds)");
  const GlobalOptions* g = &global;
  *run = [o, g]() { return run_train_tokenizer(*o, *g); };
  return sub;
}

}  // namespace elarin::cli
