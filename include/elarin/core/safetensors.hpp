// safetensors (https://github.com/huggingface/safetensors) reader and writer.
// Reads are memory-mapped and lazy: a tensor is copied out only when asked for.
// Writes are atomic (temp file, fsync, rename). Leaves out: sharded index files.
//
//   elarin::save_safetensors("out.safetensors", {{"w", torch::randn({4, 8})}}, {{"format", "pt"}});
//   auto st = elarin::SafeTensors::open("out.safetensors");  // maps it, validates the whole header
//   torch::Tensor w = st.tensor("w");                        // owning CPU tensor
//   torch::Tensor param = torch::empty({4, 8});
//   st.read_into("w", param);                                // into an existing tensor
//   for (const std::string& name : st.names()) st.info(name).shape;  // file order; dtype, offsets
//   st.metadata().at("format");                                       // "pt"
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "elarin/core/safetensors_header.hpp"  // TensorInfo, the torch-free header parser

namespace elarin {

// dtype name <-> torch dtype; unknown names throw FormatError naming the dtype.
torch::ScalarType safetensors_dtype(const std::string& name);
std::string safetensors_dtype_name(torch::ScalarType type);
size_t safetensors_dtype_size(const std::string& name);  // defined in safetensors_header.cpp

class SafeTensors {
 public:
  // Maps and validates `path`. Throws FormatError naming the defect (and the file).
  static SafeTensors open(const std::string& path);
  // Validates an in-memory buffer (copied). `origin` names it in error messages.
  static SafeTensors from_buffer(const uint8_t* data, size_t size,
                                 const std::string& origin = "<buffer>");

  const std::string& path() const;
  // Tensor names in file (offset) order.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws Error if missing
  const std::map<std::string, std::string>& metadata() const;
  // Owning CPU tensor in the file's dtype. Missing name: Error listing a few known names.
  torch::Tensor tensor(const std::string& name) const;
  // Copies tensor `name` into `dst` (same shape; a floating dtype converts to dst's), a few MB
  // at a time, dropping each piece of the mapping once copied: loading a model this way never
  // holds the file's pages and the model at once. Throws, leaving dst untouched, on a shape
  // mismatch or a BOOL byte that is not 0 or 1.
  void read_into(const std::string& name, torch::Tensor& dst) const;
  // Every tensor, owning copies.
  std::map<std::string, torch::Tensor> tensors() const;

  struct Storage;  // the mapping or buffer; shared so copies of SafeTensors are cheap

 private:
  // Validates the bytes held by `storage` and indexes the tensors (shared by open/from_buffer).
  static SafeTensors from_storage(std::shared_ptr<Storage> storage);

  std::shared_ptr<const Storage> storage_;
  std::vector<TensorInfo> infos_;        // file order
  std::map<std::string, size_t> index_;  // name -> position in infos_
  std::map<std::string, std::string> metadata_;
};

// Serialises tensors (made contiguous, CPU) into safetensors bytes; names sorted as
// Hugging Face does. Throws UsageError for an unsupported dtype or empty name.
std::string safetensors_bytes(const std::map<std::string, torch::Tensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {});
// safetensors_bytes written atomically to `path`.
void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace elarin
