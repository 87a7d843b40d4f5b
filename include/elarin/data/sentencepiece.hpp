// SentencePiece encoding and decoding in-process, from the `.model` file alone (unigram and
// BPE): elarin reads the protobuf itself because libsentencepiece cannot share a process with
// libtorch (ARCHITECTURE.md). Matches spm 0.1.97's `spm_encode` / `spm_decode` id for id
// (tests/data/test_sentencepiece.cpp checks whole corpora). Leaves out training (spm_train,
// see sentencepiece_trainer.hpp), sampling / n-best, WORD and CHAR models, denormalizer rules.
//
//   auto tok = elarin::SentencePieceTokenizer::load("runs/tok.model");
//   std::vector<int64_t> ids = tok.encode("To be, or not to be");  // one sentence, as spm
//   std::string back = tok.decode(ids);                            // "To be, or not to be"
//   tok.vocab_size();  tok.piece(ids[0]);                          // 2000, "▁To"
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace elarin {

class SentencePieceTokenizer {
 public:
  // Reads and validates a `.model` file. FormatError naming the file and what is wrong
  // (truncated field, missing <unk>, byte pieces without byte_fallback, ...); Error if it
  // cannot be read.
  static SentencePieceTokenizer load(const std::string& path);
  // The same from the file's bytes; `name` is used in messages.
  static SentencePieceTokenizer from_bytes(std::string_view bytes, const std::string& name);

  // The ids spm's Encode gives `text` taken as one sentence (spm_encode feeds it one line at a
  // time, without the '\n'): normalisation, user-defined symbols, Viterbi (unigram) or merges
  // (BPE), runs of unknown characters as one <unk>, or their UTF-8 bytes with byte_fallback.
  std::vector<int64_t> encode(std::string_view text) const;
  // spm's Decode: U+2581 -> ' ', the leading space of the first piece dropped, control pieces
  // empty, <unk> as " ⁇ " (the model's unk_surface), byte pieces joined into UTF-8 (U+FFFD for
  // bytes that are not). Error on an id outside 0..vocab_size()-1.
  std::string decode(const std::vector<int64_t>& ids) const;
  // The text after normalisation, as the model segments it (spaces are U+2581).
  std::string normalize(std::string_view text) const;

  int64_t vocab_size() const;
  const std::string& piece(int64_t id) const;         // Error when out of range
  int64_t piece_to_id(std::string_view piece) const;  // unk_id() when absent, as spm
  int64_t unk_id() const;
  int64_t bos_id() const;          // -1 when the model has none
  int64_t eos_id() const;          // -1 when the model has none
  std::string model_type() const;  // "unigram" | "bpe"
  bool byte_fallback() const;

  struct Impl;

 private:
  SentencePieceTokenizer() = default;  // only load / from_bytes make one
  std::shared_ptr<const Impl> impl_;
};

}  // namespace elarin
