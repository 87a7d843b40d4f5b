// The fields of SentencePiece's ModelProto (sentencepiece_model.proto) that encoding and
// decoding need, read from the protobuf wire format by hand: libsentencepiece cannot share a
// process with libtorch (ARCHITECTURE.md). Leaves out self-test data and training-only fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elarin::spm {

// ModelProto.SentencePiece.Type (the proto's numbers).
enum class PieceType : int {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

// TrainerSpec.ModelType.
enum class ModelType : int { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

struct Piece {
  std::string piece;
  float score = 0.0f;
  PieceType type = PieceType::kNormal;
};

struct NormalizerSpec {
  std::string name;
  std::string precompiled_charsmap;  // darts-clone trie size (u32 LE), trie, normalized strings
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

struct ModelProto {
  std::vector<Piece> pieces;
  bool has_trainer_spec = false, has_normalizer_spec = false;  // spm_train writes both
  // TrainerSpec (field 2)
  ModelType model_type = ModelType::kUnigram;
  int32_t vocab_size = 8000;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  bool has_unk_surface = false;
  std::string unk_surface = " \xE2\x81\x87 ";  // " ⁇ ", spm's default
  NormalizerSpec normalizer;                   // field 3
  bool has_denormalizer = false;               // field 5
  NormalizerSpec denormalizer;
};

// Parses a serialized ModelProto. `name` (the file) goes into the messages: FormatError saying
// what is truncated or malformed and at which byte offset.
ModelProto parse_model_proto(std::string_view bytes, const std::string& name);

}  // namespace elarin::spm
