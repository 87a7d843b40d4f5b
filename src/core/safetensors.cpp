// safetensors reader (memory-mapped, lazy: a tensor's bytes are touched only when it is asked
// for) and writer (Hugging Face's layout, byte for byte; atomic). Header checks live in
// safetensors_header.cpp.
#include "elarin/core/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <tuple>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"

// safetensors stores little-endian data; tensors are copied byte for byte, with no swapping.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors IO assumes a little-endian host");

namespace elarin {
namespace {

struct TorchDtype {
  const char* name;
  torch::ScalarType type;
};

// Same order as kDtypes in safetensors_header.cpp (the reference implementation's Dtype enum,
// increasing alignment): the writer lays tensors out from the end of this table.
constexpr TorchDtype kTorchDtypes[] = {{"BOOL", torch::kBool},  {"U8", torch::kByte},
                                       {"I8", torch::kChar},    {"I16", torch::kShort},
                                       {"F16", torch::kHalf},   {"BF16", torch::kBFloat16},
                                       {"I32", torch::kInt},    {"F32", torch::kFloat},
                                       {"F64", torch::kDouble}, {"I64", torch::kLong}};

// Position in kTorchDtypes, or -1.
int dtype_rank(torch::ScalarType type) {
  for (size_t i = 0; i < std::size(kTorchDtypes); ++i) {
    if (kTorchDtypes[i].type == type) return static_cast<int>(i);
  }
  return -1;
}

// A JSON string literal. Strict UTF-8: a name that is not valid UTF-8 cannot be written.
std::string json_string(const std::string& s, const std::string& what) {
  try {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception&) {
    throw UsageError("safetensors: " + what + " is not valid UTF-8");
  }
}

// Up to `count` known names, those sharing the longest prefix with `wanted` first: a typo in
// "h.0.attn.c_atn.weight" then shows its neighbours.
std::vector<std::string> closest_names(const std::vector<TensorInfo>& infos,
                                       const std::string& wanted, size_t count) {
  std::vector<std::pair<size_t, const std::string*>> scored;
  scored.reserve(infos.size());
  for (const TensorInfo& info : infos) {
    const auto mismatch =
        std::mismatch(wanted.begin(), wanted.end(), info.name.begin(), info.name.end());
    scored.emplace_back(static_cast<size_t>(mismatch.first - wanted.begin()), &info.name);
  }
  const size_t n = std::min(count, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : *a.second < *b.second;
                    });
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(*scored[i].second);
  return out;
}

}  // namespace

// The file's bytes: a private read-only mapping, or an owned copy of a caller's buffer.
// Shared by copies of a SafeTensors, so the mapping lives as long as any of them.
struct SafeTensors::Storage {
  std::string origin;
  const uint8_t* bytes = nullptr;  // the whole file
  size_t size = 0;
  void* mapping = nullptr;  // set when `bytes` is an mmap of `size` bytes
  std::vector<uint8_t> buffer;
  uint64_t data_start = 0;  // offset of the data section in `bytes`

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (mapping != nullptr) ::munmap(mapping, size);
  }
};

torch::ScalarType safetensors_dtype(const std::string& name) {
  for (const TorchDtype& d : kTorchDtypes) {
    if (name == d.name) return d.type;
  }
  safetensors_dtype_size(name);  // throws the FormatError that names the dtype
  throw FormatError("safetensors dtype '" + name + "' has no torch dtype");  // unreachable
}

std::string safetensors_dtype_name(torch::ScalarType type) {
  const int rank = dtype_rank(type);
  if (rank < 0) {
    std::string supported;
    for (const TorchDtype& d : kTorchDtypes) {
      supported += (supported.empty() ? "" : ", ") + std::string(c10::toString(d.type));
    }
    throw UsageError(std::string("safetensors cannot store dtype ") + c10::toString(type) +
                     " (supported: " + supported + ")");
  }
  return kTorchDtypes[rank].name;
}

SafeTensors SafeTensors::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open '" + path + "': " + errno_message(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error("cannot stat '" + path + "': " + errno_message(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("cannot open '" + path +
                "': " + (S_ISDIR(st.st_mode) ? errno_message(EISDIR) : "not a regular file"));
  }
  auto storage = std::make_shared<Storage>();
  storage->origin = path;
  storage->size = static_cast<size_t>(st.st_size);
  // mmap refuses length 0; an empty file goes straight to the parser, which names the defect.
  if (storage->size > 0) {
    void* map = ::mmap(nullptr, storage->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error("cannot map '" + path + "': " + errno_message(err));
    }
    storage->mapping = map;
    storage->bytes = static_cast<const uint8_t*>(map);
  }
  ::close(fd);  // the mapping keeps the file referenced
  // Another process truncating the file now would turn later reads into SIGBUS; writers in
  // elarin never do that (they rename a new file over the old one).
  return from_storage(std::move(storage));
}

SafeTensors SafeTensors::from_buffer(const uint8_t* data, size_t size, const std::string& origin) {
  auto storage = std::make_shared<Storage>();
  storage->origin = origin;
  if (size > 0) storage->buffer.assign(data, data + size);
  storage->bytes = storage->buffer.data();
  storage->size = size;
  return from_storage(std::move(storage));
}

SafeTensors SafeTensors::from_storage(std::shared_ptr<Storage> storage) {
  SafeTensorsHeader header =
      parse_safetensors_header(storage->bytes, storage->size, storage->origin);
  storage->data_start = header.data_start;
  SafeTensors out;
  out.storage_ = std::move(storage);
  out.metadata_ = std::move(header.metadata);
  out.infos_ = std::move(header.tensors);
  for (size_t i = 0; i < out.infos_.size(); ++i) out.index_[out.infos_[i].name] = i;
  return out;
}

const std::string& SafeTensors::path() const {
  static const std::string kNone;
  return storage_ ? storage_->origin : kNone;
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::string> out;
  out.reserve(infos_.size());
  for (const TensorInfo& info : infos_) out.push_back(info.name);
  return out;
}

bool SafeTensors::contains(const std::string& name) const { return index_.count(name) > 0; }

const TensorInfo& SafeTensors::info(const std::string& name) const {
  const auto it = index_.find(name);
  if (it != index_.end()) return infos_[it->second];
  std::string message = (path().empty() ? "safetensors" : path()) + ": no tensor '" + name + "'";
  if (infos_.empty()) throw Error(message + "; the file holds no tensors");
  message += " among its " + std::to_string(infos_.size()) + " tensors; closest: ";
  const std::vector<std::string> near = closest_names(infos_, name, 5);
  for (size_t i = 0; i < near.size(); ++i) message += (i ? ", '" : "'") + near[i] + "'";
  throw Error(message);
}

const std::map<std::string, std::string>& SafeTensors::metadata() const { return metadata_; }

torch::Tensor SafeTensors::tensor(const std::string& name) const {
  const TensorInfo& info = this->info(name);
  // torch::empty + memcpy rather than from_blob(...).clone(): same single copy, and the
  // source needs no alignment (a header length that is not a multiple of 8 leaves F32 data
  // at odd addresses, which from_blob would hand to vectorised kernels as is).
  torch::Tensor out =
      torch::empty(info.shape, torch::TensorOptions().dtype(safetensors_dtype(info.dtype)));
  const size_t nbytes = info.end - info.begin;
  const uint8_t* src = storage_->bytes + storage_->data_start + info.begin;
  if (nbytes > 0) std::memcpy(out.data_ptr(), src, nbytes);
  if (info.dtype == "BOOL") {
    // A torch bool must be 0 or 1; any other byte would make later logic ops undefined.
    const uint8_t* bad = std::find_if(src, src + nbytes, [](uint8_t b) { return b > 1; });
    if (bad != src + nbytes) {
      throw FormatError(path() + ": tensor '" + name + "' (BOOL) holds byte " +
                        std::to_string(*bad) + " at element " + std::to_string(bad - src) +
                        "; a BOOL must be 0 or 1");
    }
  }
  return out;
}

void SafeTensors::read_into(const std::string& name, torch::Tensor& dst) const {
  const TensorInfo& info = this->info(name);
  if (c10::IntArrayRef(info.shape) != dst.sizes()) {
    throw Error(path() + ": tensor '" + name + "' has shape " + c10::str(c10::IntArrayRef(info.shape)) +
                ", the destination " + c10::str(dst.sizes()));
  }
  const torch::ScalarType type = safetensors_dtype(info.dtype);
  if (!dst.is_contiguous() || !dst.device().is_cpu() || info.dtype == "BOOL" ||
      (type != dst.scalar_type() && !(c10::isFloatingType(type) && c10::isFloatingType(dst.scalar_type())))) {
    dst.copy_(tensor(name));  // checks BOOL bytes before copying; rare layouts
    return;
  }
  const size_t elem = safetensors_dtype_size(info.dtype);
  const int64_t n = dst.numel();
  const uint8_t* src = storage_->bytes + storage_->data_start + info.begin;
  const long page = ::sysconf(_SC_PAGESIZE);
  constexpr int64_t kChunkBytes = 8 << 20;
  const int64_t chunk = std::max<int64_t>(1, kChunkBytes / static_cast<int64_t>(elem));
  auto flat = dst.view({-1});
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    const uint8_t* from = src + static_cast<size_t>(b) * elem;
    const size_t bytes = static_cast<size_t>(m) * elem;
    if (type == dst.scalar_type()) {
      std::memcpy(static_cast<uint8_t*>(dst.data_ptr()) + static_cast<size_t>(b) * elem, from, bytes);
    } else {
      auto piece = torch::empty({m}, torch::TensorOptions().dtype(type));
      std::memcpy(piece.data_ptr(), from, bytes);  // aligned for the conversion's kernels
      flat.narrow(0, b, m).copy_(piece);
    }
    if (storage_->mapping != nullptr && page > 0) {
      // The whole pages inside the piece: a private read-only mapping refaults them from the
      // file if they are read again, so dropping them loses nothing.
      const auto lo = (reinterpret_cast<uintptr_t>(from) + page - 1) / page * page;
      const auto hi = (reinterpret_cast<uintptr_t>(from) + bytes) / page * page;
      if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    }
  }
}

std::map<std::string, torch::Tensor> SafeTensors::tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const TensorInfo& info : infos_) out.emplace(info.name, tensor(info.name));
  return out;
}

std::string safetensors_bytes(const std::map<std::string, torch::Tensor>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  struct Entry {
    const std::string* name;
    torch::Tensor data;  // contiguous, CPU
    int rank;            // position of the dtype in kTorchDtypes
  };
  std::vector<Entry> entries;
  entries.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const std::string who = "safetensors: tensor '" + name + "'";
    if (name.empty()) throw UsageError("safetensors: a tensor name is empty");
    if (name == "__metadata__") throw UsageError(who + " clashes with the metadata key");
    if (!tensor.defined()) throw UsageError(who + " is undefined");
    if (tensor.layout() != torch::kStrided) throw UsageError(who + " is not a dense tensor");
    safetensors_dtype_name(tensor.scalar_type());  // UsageError for an unsupported dtype
    entries.push_back({&name, tensor.contiguous().cpu(), dtype_rank(tensor.scalar_type())});
  }
  // Hugging Face's order: widest dtype first, then by name. With the header padded to a
  // multiple of 8 every tensor then starts aligned to its element size, and our files come
  // out byte-identical to the reference writer's.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.rank != b.rank ? a.rank > b.rank : *a.name < *b.name;
  });

  // Built by hand rather than with nlohmann::ordered_json, whose key lookup is linear (slow
  // for checkpoints with many tensors); same compact form as serde_json.
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      header += (first ? "" : ",") + json_string(key, "metadata key '" + key + "'") + ":" +
                json_string(value, "metadata value of '" + key + "'");
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const Entry& e : entries) {
    const uint64_t nbytes = e.data.nbytes();
    if (header.size() > 1) header += ",";
    header += json_string(*e.name, "tensor name '" + *e.name + "'") + ":{\"dtype\":\"" +
              kTorchDtypes[e.rank].name + "\",\"shape\":[";
    for (int64_t d = 0; d < e.data.dim(); ++d) {
      header += (d ? "," : "") + std::to_string(e.data.size(d));
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + header.size() + offset);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  out += header;
  for (const Entry& e : entries) {
    if (e.data.nbytes() > 0)
      out.append(static_cast<const char*>(e.data.data_ptr()), e.data.nbytes());
  }
  return out;
}

void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, safetensors_bytes(tensors, metadata));
}

}  // namespace elarin
