// Shared pieces of the hand-vectorised AVX-512F kernels (nn/skinny_matmul, the Elara
// decoder's attention). The kernels sit between ELARIN_AVX512_BEGIN and ELARIN_AVX512_END,
// compiled for AVX-512F whatever the build's flags, and run only after
// elarin::cpu_has_avx512f() (core/runtime) says the CPU has it and they are on.
//
//   ELARIN_AVX512_BEGIN
//   namespace { void kernel(...) { ... _mm512_maskz_loadu_ps(avx512_lanes(n - i), p + i) ... } }
//   ELARIN_AVX512_END
#pragma once

#include <immintrin.h>

#include <cstdint>

// GCC 12's own intrinsics (reductions, conversions) start from undefined vectors, hence the
// two uninitialized warnings; -Wpsabi notes the vector ABI of functions inside the region.
#define ELARIN_AVX512_BEGIN                                                                     \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f\")") _Pragma("GCC diagnostic push") \
      _Pragma("GCC diagnostic ignored \"-Wpsabi\"")                                             \
          _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")                                 \
              _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define ELARIN_AVX512_END _Pragma("GCC diagnostic pop") _Pragma("GCC pop_options")

namespace elarin {

// The mask of the first min(16, max(0, left)) lanes of a 16-float vector.
inline __mmask16 avx512_lanes(int64_t left) {
  return left >= 16 ? 0xFFFF : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
}

}  // namespace elarin
