// safetensors header parser and validator, free of LibTorch so the fuzzer builds it alone.
// Each defect has its own message, led by the file's name; tests/data/safetensors/malformed
// holds one file per message (see EXPECTED.txt there).
#include "elarin/core/safetensors_header.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <tuple>
#include <unordered_set>

#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

using Json = nlohmann::json;

struct DtypeEntry {
  const char* name;
  size_t size;
};

// The reference implementation's Dtype enum order (increasing alignment), limited to what
// LibTorch 1.13 can hold: U16/U32/U64 and the F8 formats are refused as unsupported.
constexpr DtypeEntry kDtypes[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"F16", 2},
                                  {"BF16", 2}, {"I32", 4}, {"F32", 4}, {"F64", 8}, {"I64", 8}};

// A valid header nests three levels (root object > entry > shape array). Deeper containers
// are refused while parsing, before they are built, so a header of 100 MB of '[' costs
// neither the stack nor memory. The slack lets `shape: [[1]]` get the clearer type message.
constexpr int kMaxDepth = 16;

constexpr size_t kMaxQuoted = 80;    // characters of a name shown in a message
constexpr size_t kMaxSnippet = 60;   // characters of a JSON value shown in a message
constexpr size_t kMaxShownDims = 8;  // dimensions of a shape shown in a message

using Fail = std::function<FormatError(const std::string&)>;

size_t dtype_size_or_zero(const std::string& name) {
  for (const DtypeEntry& d : kDtypes) {
    if (name == d.name) return d.size;
  }
  return 0;
}

std::string supported_dtypes() {
  std::string out;
  for (const DtypeEntry& d : kDtypes) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

// Cuts `s` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string cut(const std::string& s, size_t limit) {
  if (s.size() <= limit) return s;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end) + "...";
}

// 'name', cut and with control bytes escaped: names come from untrusted files and end up on
// a terminal.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char ch : cut(s, kMaxQuoted)) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "'";
}

std::string snippet(const Json& value) { return cut(value.dump(), kMaxSnippet); }

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size() && i < kMaxShownDims; ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  if (shape.size() > kMaxShownDims) out += ", ...";
  return out + "]";
}

std::string offsets_string(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

std::string byte_string(uint8_t c) {
  char buf[8];
  if (c >= 0x21 && c < 0x7F) {
    std::snprintf(buf, sizeof buf, "'%c'", c);
  } else {
    std::snprintf(buf, sizeof buf, "0x%02x", c);
  }
  return buf;
}

// Offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), or `size` when the text is valid. Checked before JSON parsing so
// that bad UTF-8 gets its own message rather than a generic parse error.
size_t first_invalid_utf8(const uint8_t* s, size_t size) {
  size_t i = 0;
  while (i < size) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (size - i < len || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return size;
}

// Parses the header text. nlohmann keeps the last of duplicate keys silently, so a parser
// callback tracks the keys of every open object and refuses a repeat.
Json parse_json(const char* text, size_t size, const Fail& fail) {
  std::vector<std::unordered_set<std::string>> open_objects;
  std::string entry;  // current top-level key, to name it in a duplicate-field message
  Json::parser_callback_t check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= kMaxDepth) {
          throw fail("header nests JSON containers " + std::to_string(depth + 1) +
                     " levels deep; a safetensors header needs 3");
        }
        if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case Json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!open_objects.back().insert(key).second) {
          if (depth == 1) throw fail("duplicate tensor name " + quote(key) + " in the header");
          if (depth == 2 && entry == "__metadata__") {
            throw fail("__metadata__ has duplicate key " + quote(key));
          }
          if (depth == 2)
            throw fail("tensor " + quote(entry) + " has duplicate field " + quote(key));
          throw fail("header repeats the key " + quote(key) + " inside one object");
        }
        if (depth == 1) entry = key;
        break;
      }
      case Json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text, text + size, check);
  } catch (const Json::exception& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep position and reason.
    std::string what = e.what();
    const size_t tag_end = what.find("] ");
    if (what.rfind("[json.exception.", 0) == 0 && tag_end != std::string::npos) {
      what = what.substr(tag_end + 2);
    }
    throw fail("header is not valid JSON: " + what);
  }
}

// A JSON integer >= 0 (nlohmann stores "-0" as a signed zero, hence the second case).
bool read_non_negative(const Json& value, uint64_t* out) {
  if (value.is_number_unsigned()) {
    *out = value.get<uint64_t>();
    return true;
  }
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(value.get<int64_t>());
    return true;
  }
  return false;
}

void read_metadata(const Json& value, std::map<std::string, std::string>* out, const Fail& fail) {
  if (!value.is_object()) {
    throw fail("__metadata__ must be an object of string values, got " +
               std::string(value.type_name()));
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string()) {
      throw fail("__metadata__ value for key " + quote(it.key()) + " must be a string, got " +
                 it.value().type_name() + " " + snippet(it.value()));
    }
    (*out)[it.key()] = it.value().get<std::string>();
  }
}

// Checks one entry on its own: field set and types, dtype, shape, byte count, bounds.
TensorInfo read_entry(const std::string& name, const Json& entry, uint64_t data_size,
                      const Fail& fail) {
  const std::string who = "tensor " + quote(name);
  if (!entry.is_object()) {
    throw fail(who + " must be an object with dtype, shape and data_offsets, got " +
               entry.type_name());
  }
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      throw fail(who + " has unknown field " + quote(it.key()) +
                 " (expected dtype, shape, data_offsets)");
    }
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) throw fail(who + " lacks the field '" + field + "'");
  }

  TensorInfo info;
  info.name = name;
  const Json& dtype = entry.at("dtype");
  if (!dtype.is_string()) throw fail(who + ": dtype must be a string, got " + snippet(dtype));
  info.dtype = dtype.get<std::string>();
  const size_t element_size = dtype_size_or_zero(info.dtype);
  if (element_size == 0) {
    throw fail(who + " has unknown or unsupported dtype " + quote(info.dtype) +
               " (supported: " + supported_dtypes() + ")");
  }

  const Json& shape = entry.at("shape");
  // Built only on failure: dumping the shape for every entry would cost on large headers.
  const auto bad_shape = [&] {
    return fail(who + ": shape must be an array of non-negative integers, got " + snippet(shape));
  };
  if (!shape.is_array()) throw bad_shape();
  // `extent` = dtype size x the product of max(dim, 1). It must fit int64_t so that numel,
  // strides and byte counts are all representable, even for a zero-size tensor.
  uint64_t extent = element_size;
  bool zero_size = false;
  bool overflow = false;
  for (const Json& dim : shape) {
    uint64_t d = 0;
    if (!read_non_negative(dim, &d)) {
      if (dim.is_number_integer()) {
        throw fail(who + " has negative dimension " + dim.dump() + " in shape " + snippet(shape));
      }
      throw bad_shape();
    }
    if (d == 0) zero_size = true;
    overflow = overflow || d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
               __builtin_mul_overflow(extent, std::max<uint64_t>(d, 1), &extent) ||
               extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    info.shape.push_back(static_cast<int64_t>(d));
  }
  if (overflow) {
    throw fail(who + ": shape " + snippet(shape) + " of " + info.dtype +
               " overflows a 64-bit byte count");
  }
  const uint64_t nbytes = zero_size ? 0 : extent;

  const Json& offsets = entry.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !read_non_negative(offsets[0], &info.begin) ||
      !read_non_negative(offsets[1], &info.end)) {
    throw fail(who + ": data_offsets must be [begin, end], two non-negative integers, got " +
               snippet(offsets));
  }
  const std::string where = "data_offsets " + offsets_string(info.begin, info.end);
  if (info.begin > info.end) throw fail(who + " has " + where + " with begin after end");
  if (info.end - info.begin != nbytes) {
    throw fail(who + " has " + std::to_string(info.end - info.begin) + " bytes (" + where +
               ") but shape " + shape_string(info.shape) + " of " + info.dtype + " needs " +
               std::to_string(nbytes));
  }
  if (info.end > data_size) {
    throw fail(who + " has " + where + " past the end of the " + std::to_string(data_size) +
               "-byte data section (is the file truncated?)");
  }
  return info;
}

// The tensors, in offset order, must tile the data section: no overlap, no hole, nothing
// after the last one. Zero-size tensors sit at their offset and take no room.
void check_layout(std::vector<TensorInfo>* tensors, uint64_t data_size, const Fail& fail) {
  std::sort(tensors->begin(), tensors->end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t cursor = 0;
  const TensorInfo* prev = nullptr;  // the tensor that ends at `cursor`
  for (const TensorInfo& t : *tensors) {
    if (t.begin < cursor) {
      throw fail("tensors " + quote(prev->name) + " " + offsets_string(prev->begin, prev->end) +
                 " and " + quote(t.name) + " " + offsets_string(t.begin, t.end) + " overlap");
    }
    if (t.begin > cursor && prev == nullptr) {
      throw fail("hole of " + std::to_string(t.begin) + " bytes at the start of the data " +
                 "section, before tensor " + quote(t.name) + " (starts at " +
                 std::to_string(t.begin) + ")");
    }
    if (t.begin > cursor) {
      throw fail("hole of " + std::to_string(t.begin - cursor) + " bytes between tensor " +
                 quote(prev->name) + " (ends at " + std::to_string(cursor) + ") and tensor " +
                 quote(t.name) + " (starts at " + std::to_string(t.begin) + ")");
    }
    cursor = t.end;
    prev = &t;
  }
  if (cursor == data_size) return;
  if (prev == nullptr) {
    throw fail("header lists no tensors but " + std::to_string(data_size) +
               " bytes of data follow it");
  }
  throw fail(std::to_string(data_size - cursor) + " trailing bytes after the last tensor " +
             quote(prev->name) + " (tensors end at " + std::to_string(cursor) +
             ", the data section has " + std::to_string(data_size) + " bytes)");
}

}  // namespace

SafeTensorsHeader parse_safetensors_header(const uint8_t* data, size_t size,
                                           const std::string& origin) {
  const Fail fail = [&origin](const std::string& what) {
    return FormatError(origin + ": " + what);
  };
  if (size < 8) {
    throw fail("file is " + std::to_string(size) +
               " bytes, too short to hold the 8-byte header length");
  }
  uint64_t n = 0;  // little-endian u64, decoded bytewise so any host reads it right
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > kSafeTensorsMaxHeaderSize) {
    throw fail("header length " + std::to_string(n) + " exceeds the limit of " +
               std::to_string(kSafeTensorsMaxHeaderSize) + " bytes");
  }
  if (n > size - 8) {
    throw fail("header length " + std::to_string(n) + " runs past the end of the file (only " +
               std::to_string(size - 8) + " bytes follow the length field)");
  }
  const uint8_t* header = data + 8;
  const size_t bad = first_invalid_utf8(header, n);
  if (bad < n) {
    throw fail("header is not valid UTF-8 (byte " + byte_string(header[bad]) +
               " at header offset " + std::to_string(bad) + ")");
  }
  // The spec requires '{' first; JSON whitespace may follow the object (HF pads with spaces).
  if (n == 0 || header[0] != '{') {
    throw fail("header is not a JSON object: it must begin with '{' but " +
               (n == 0 ? std::string("is empty") : "begins with " + byte_string(header[0])));
  }
  const Json root = parse_json(reinterpret_cast<const char*>(header), n, fail);

  SafeTensorsHeader out;
  out.data_start = 8 + n;
  out.data_size = size - 8 - n;
  out.tensors.reserve(root.size());
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") {
      read_metadata(it.value(), &out.metadata, fail);
    } else {
      out.tensors.push_back(read_entry(it.key(), it.value(), out.data_size, fail));
    }
  }
  check_layout(&out.tensors, out.data_size, fail);
  return out;
}

size_t safetensors_dtype_size(const std::string& name) {
  const size_t size = dtype_size_or_zero(name);
  if (size == 0) {
    throw FormatError("unknown or unsupported safetensors dtype " + quote(name) +
                      " (supported: " + supported_dtypes() + ")");
  }
  return size;
}

const std::vector<std::string>& safetensors_dtype_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const DtypeEntry& d : kDtypes) out.emplace_back(d.name);
    return out;
  }();
  return names;
}

}  // namespace elarin
