// ModelProto wire-format reader (see the header). Unknown fields are skipped as protobuf does;
// a known field with the wrong wire type, a bad enum value or a truncated field is an error.
#include "data/sentencepiece_model.hpp"

#include <cstring>

#include "elarin/core/errors.hpp"

namespace elarin::spm {
namespace {

enum WireType : int { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

// One message's bytes; `where` names the message for errors ("pieces[12]").
class Reader {
 public:
  Reader(std::string_view data, size_t base, const std::string& file, std::string where)
      : data_(data), base_(base), file_(file), where_(std::move(where)) {}

  bool done() const { return pos_ >= data_.size(); }

  // The next field's number and wire type.
  void tag(uint32_t* field, int* wire) {
    const size_t at = pos_;
    const uint64_t key = varint("a field key");
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<int>(key & 7);
    if (*field == 0) fail(at, "field number 0");
  }

  uint64_t varint(const char* what) {
    const size_t at = pos_;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= data_.size()) fail(at, std::string("truncated varint (") + what + ")");
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && b > 1) fail(at, std::string("varint overflows 64 bits (") + what + ")");
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(at, std::string("varint longer than 10 bytes (") + what + ")");
    return 0;
  }

  float fixed32_float(const char* what) {
    const size_t at = pos_;
    if (data_.size() - pos_ < 4) fail(at, std::string("truncated 32-bit field (") + what + ")");
    uint32_t u = 0;
    for (int k = 0; k < 4; ++k)
      u |= static_cast<uint32_t>(static_cast<uint8_t>(data_[pos_ + k])) << (8 * k);
    pos_ += 4;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }

  // A length-delimited field's bytes, and its offset in the file in *offset.
  std::string_view bytes(const char* what, size_t* offset = nullptr) {
    const size_t at = pos_;
    const uint64_t n = varint(what);
    if (n > data_.size() - pos_)
      fail(at, std::string(what) + " claims " + std::to_string(n) + " bytes but only " +
                   std::to_string(data_.size() - pos_) + " remain (file truncated?)");
    if (offset) *offset = base_ + pos_;
    std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  void skip(int wire, uint32_t field) {
    const size_t at = pos_;
    switch (wire) {
      case kVarint:
        varint("unknown field");
        break;
      case kFixed64:
        if (data_.size() - pos_ < 8) fail(at, "truncated 64-bit field " + std::to_string(field));
        pos_ += 8;
        break;
      case kBytes:
        bytes("unknown field");
        break;
      case kFixed32:
        if (data_.size() - pos_ < 4) fail(at, "truncated 32-bit field " + std::to_string(field));
        pos_ += 4;
        break;
      default:
        fail(at, "field " + std::to_string(field) + " has wire type " + std::to_string(wire) +
                     " (groups and reserved types are not in a ModelProto)");
    }
  }

  void expect(int wire, int want, uint32_t field, const char* name) {
    if (wire != want)
      fail(pos_, std::string(name) + " (field " + std::to_string(field) + ") has wire type " +
                     std::to_string(wire) + ", expected " + std::to_string(want));
  }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw FormatError("sentencepiece model '" + file_ + "': " + what + " in " + where_ +
                      " at byte " + std::to_string(base_ + at) +
                      " (not a SentencePiece .model file, or a truncated one)");
  }

  size_t pos() const { return pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  size_t base_;  // offset of data_ in the file
  const std::string& file_;
  std::string where_;
};

int32_t as_int32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

Piece parse_piece(Reader& r) {
  Piece p;
  while (!r.done()) {
    uint32_t field;
    int wire;
    r.tag(&field, &wire);
    if (field == 1) {
      r.expect(wire, kBytes, field, "piece");
      p.piece = std::string(r.bytes("piece"));
    } else if (field == 2) {
      r.expect(wire, kFixed32, field, "score");
      p.score = r.fixed32_float("score");
    } else if (field == 3) {
      r.expect(wire, kVarint, field, "type");
      const uint64_t t = r.varint("type");
      if (t < 1 || t > 6) r.fail(r.pos(), "piece type " + std::to_string(t) + ", expected 1..6");
      p.type = static_cast<PieceType>(t);
    } else {
      r.skip(wire, field);
    }
  }
  return p;
}

void parse_trainer_spec(Reader& r, ModelProto& m) {
  while (!r.done()) {
    uint32_t field;
    int wire;
    r.tag(&field, &wire);
    auto int_field = [&](const char* name) {
      r.expect(wire, kVarint, field, name);
      return r.varint(name);
    };
    switch (field) {
      case 3: {
        const uint64_t t = int_field("model_type");
        if (t < 1 || t > 4) r.fail(r.pos(), "model_type " + std::to_string(t) + ", expected 1..4");
        m.model_type = static_cast<ModelType>(t);
        break;
      }
      case 4:
        m.vocab_size = as_int32(int_field("vocab_size"));
        break;
      case 24:
        m.treat_whitespace_as_suffix = int_field("treat_whitespace_as_suffix") != 0;
        break;
      case 35:
        m.byte_fallback = int_field("byte_fallback") != 0;
        break;
      case 40:
        m.unk_id = as_int32(int_field("unk_id"));
        break;
      case 41:
        m.bos_id = as_int32(int_field("bos_id"));
        break;
      case 42:
        m.eos_id = as_int32(int_field("eos_id"));
        break;
      case 43:
        m.pad_id = as_int32(int_field("pad_id"));
        break;
      case 44:
        r.expect(wire, kBytes, field, "unk_surface");
        m.unk_surface = std::string(r.bytes("unk_surface"));
        m.has_unk_surface = true;
        break;
      default:
        r.skip(wire, field);
    }
  }
}

void parse_normalizer_spec(Reader& r, NormalizerSpec& s) {
  while (!r.done()) {
    uint32_t field;
    int wire;
    r.tag(&field, &wire);
    auto flag = [&](const char* name) {
      r.expect(wire, kVarint, field, name);
      return r.varint(name) != 0;
    };
    switch (field) {
      case 1:
        r.expect(wire, kBytes, field, "name");
        s.name = std::string(r.bytes("name"));
        break;
      case 2:
        r.expect(wire, kBytes, field, "precompiled_charsmap");
        s.precompiled_charsmap = std::string(r.bytes("precompiled_charsmap"));
        break;
      case 3:
        s.add_dummy_prefix = flag("add_dummy_prefix");
        break;
      case 4:
        s.remove_extra_whitespaces = flag("remove_extra_whitespaces");
        break;
      case 5:
        s.escape_whitespaces = flag("escape_whitespaces");
        break;
      default:
        r.skip(wire, field);
    }
  }
}

}  // namespace

ModelProto parse_model_proto(std::string_view bytes, const std::string& name) {
  ModelProto m;
  Reader top(bytes, 0, name, "ModelProto");
  while (!top.done()) {
    uint32_t field;
    int wire;
    top.tag(&field, &wire);
    auto sub = [&](const char* what, std::string where) {
      top.expect(wire, kBytes, field, what);
      size_t offset = 0;
      const std::string_view body = top.bytes(what, &offset);
      return Reader(body, offset, name, std::move(where));
    };
    if (field == 1) {
      Reader r = sub("pieces", "pieces[" + std::to_string(m.pieces.size()) + "]");
      m.pieces.push_back(parse_piece(r));
    } else if (field == 2) {
      Reader r = sub("trainer_spec", "trainer_spec");
      parse_trainer_spec(r, m);
      m.has_trainer_spec = true;
    } else if (field == 3) {
      Reader r = sub("normalizer_spec", "normalizer_spec");
      parse_normalizer_spec(r, m.normalizer);
      m.has_normalizer_spec = true;
    } else if (field == 5) {
      Reader r = sub("denormalizer_spec", "denormalizer_spec");
      parse_normalizer_spec(r, m.denormalizer);
      m.has_denormalizer = true;
    } else {
      top.skip(wire, field);
    }
  }
  return m;
}

}  // namespace elarin::spm
