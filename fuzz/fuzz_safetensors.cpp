// libFuzzer target for the torch-free safetensors header parser (see scripts/fuzz.sh).
// A FormatError is the expected way to refuse input; any other exception, a crash, a
// sanitizer report or a broken invariant of an accepted header is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors_header.hpp"

namespace {

// Stops the run with a message: libFuzzer saves the input that got here as a crash.
[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "accepted header breaks an invariant: %s\n", what);
  std::abort();
}

// What parse_safetensors_header promises about a header it accepts.
void check_invariants(const elarin::SafeTensorsHeader& h, size_t size) {
  if (h.data_start < 8 || h.data_start + h.data_size != size) broken("data section bounds");
  uint64_t cursor = 0;
  for (const elarin::TensorInfo& t : h.tensors) {
    if (t.begin != cursor || t.end < t.begin || t.end > h.data_size) broken("tiling");
    uint64_t bytes = elarin::safetensors_dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      if (d < 0) broken("negative dimension");
      bytes *= static_cast<uint64_t>(d);  // cannot wrap: the parser bounded the product
    }
    if (bytes != t.end - t.begin) broken("byte count");
    cursor = t.end;
  }
  if (cursor != h.data_size) broken("trailing bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    check_invariants(elarin::parse_safetensors_header(data, size, "<fuzz>"), size);
  } catch (const elarin::FormatError&) {
    // Refused, as it should be for malformed input.
  }
  return 0;
}
