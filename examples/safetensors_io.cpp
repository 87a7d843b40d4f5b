// Writes a safetensors file with metadata, reads it back lazily and checks the round trip.
//
//   build/examples/safetensors_io [out.safetensors]   (default: a file in the temp directory)
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <string>

#include "elarin/core/safetensors.hpp"

int main(int argc, char** argv) try {
  const std::string path =
      argc > 1 ? argv[1]
               : (std::filesystem::temp_directory_path() / "elarin_example.safetensors").string();

  // Any CPU tensors of the supported dtypes; names are sorted on disk, as Hugging Face does.
  torch::manual_seed(0);
  const std::map<std::string, torch::Tensor> tensors = {
      {"embed.weight", torch::randn({16, 8})},                         // F32
      {"norm.weight", torch::ones({8}, torch::kBFloat16)},             // BF16
      {"step", torch::tensor(std::vector<int64_t>{42}, torch::kLong)}  // I64
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                       {"elarin.example", "safetensors_io"}};
  elarin::save_safetensors(path, tensors, metadata);  // atomic: temp file, fsync, rename
  std::printf("wrote %s (%ju bytes)\n", path.c_str(),
              static_cast<uintmax_t>(std::filesystem::file_size(path)));

  // open() maps the file and validates the whole header; tensor() copies one tensor out.
  const auto st = elarin::SafeTensors::open(path);
  for (const auto& name : st.names()) {  // file (offset) order
    const elarin::TensorInfo& info = st.info(name);
    std::string shape;
    for (size_t i = 0; i < info.shape.size(); ++i)
      shape += (i ? ", " : "") + std::to_string(info.shape[i]);
    std::printf("  %-14s %-5s (%s)  bytes %ju..%ju\n", name.c_str(), info.dtype.c_str(),
                shape.c_str(), static_cast<uintmax_t>(info.begin),
                static_cast<uintmax_t>(info.end));
  }
  for (const auto& [key, value] : st.metadata())
    std::printf("  metadata %s = %s\n", key.c_str(), value.c_str());

  bool same = st.metadata() == metadata;
  for (const auto& [name, t] : tensors) same = same && torch::equal(st.tensor(name), t);
  std::printf("round trip: %s\n", same ? "identical" : "DIFFERENT");
  if (argc <= 1) std::filesystem::remove(path);
  return same ? 0 : 1;
} catch (const std::exception& e) {  // elarin throws UsageError, Error, FormatError
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
