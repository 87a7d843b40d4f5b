// Training a SentencePiece model with the real `spm_train` program (a subprocess: the library
// cannot share a process with libtorch), fed the cleaned text through a pipe, so no temporary
// corpus file is written. Leaves out encoding (sentencepiece.hpp reads the model).
//
//   #include "elarin/data/text_corpus.hpp"
//   elarin::SpmTrainOptions o;
//   o.output_prefix = "runs/tok";  o.vocab_size = 2000;  o.model_type = "bpe";
//   o.user_symbols = {"<INST>", "<INP>", "<RESP>", "<SEP>"};
//   auto r = elarin::train_sentencepiece(elarin::load_fortunes().records, o);
//   r.model_path;  r.pieces;  // "runs/tok.model", 2000
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elarin {

// spm_train skips (with a log line only) every sentence longer than its max_sentence_length
// (4192 bytes by default); elarin splits longer lines itself and passes this limit.
constexpr size_t kSpmMaxSentenceBytes = 4192;

struct SpmTrainOptions {
  std::string output_prefix;              // writes PREFIX.model and PREFIX.vocab
  int64_t vocab_size = 8000;              // pieces, including <unk> <s> </s>, user and byte pieces
  std::string model_type = "unigram";     // unigram | bpe
  bool byte_fallback = false;             // unknown characters become <0xXX> byte pieces
  std::vector<std::string> user_symbols;  // always one piece each, e.g. "<INST>"
  std::string program = "spm_train";      // looked up in PATH
  int num_threads = 0;                    // spm_train threads; 0: all cores
  int64_t input_sentence_size = 0;        // 0: train on every sentence; N: a random N of them
};

// What the cleaning did to a corpus (also part of the training result).
struct SpmCleanStats {
  int64_t sentences = 0;      // lines written for spm_train
  int64_t split_lines = 0;    // input lines longer than kSpmMaxSentenceBytes, split at spaces
  int64_t removed_chars = 0;  // control characters and malformed UTF-8 bytes dropped
};

struct SpmTrainResult {
  std::string model_path;  // PREFIX.model
  std::string vocab_path;  // PREFIX.vocab
  int64_t pieces = 0;      // read back from the model with SentencePieceTokenizer
  SpmCleanStats clean;
  double seconds = 0.0;  // spm_train's run, streaming included
};

// UsageError naming the bad option and value (model type, vocabulary size, user symbols).
void validate(const SpmTrainOptions& options);

// Appends the training sentences of one record to `out`, one per line ('\n'-terminated):
// drops NUL and the other C0 / C1 control characters and malformed UTF-8 bytes, ends lines
// at '\n' and '\r', turns each run of spaces and tabs into one space, trims lines, skips
// empty ones, and splits a line longer than kSpmMaxSentenceBytes at its last space that fits
// (at a character boundary when a chunk holds no space), so no text is dropped silently.
void append_spm_sentences(std::string_view record, std::string& out, SpmCleanStats& stats);

// Runs spm_train on the cleaned records (each streamed through a pipe as /dev/stdin), into a
// temporary prefix beside the output, reads the model back, then moves PREFIX.model and
// PREFIX.vocab into place atomically. Error with `apt-get install sentencepiece` when the
// program is missing, or with spm_train's own last message when it fails.
SpmTrainResult train_sentencepiece(const std::vector<std::string>& records,
                                   const SpmTrainOptions& options);

}  // namespace elarin
