// Process-wide runtime setup: threads, seed, and what the build and the
// machine provide (LibTorch version, the BLAS actually loaded, CUDA).
//
//   #include "elarin/core/logging.hpp"
//   elarin::RuntimeConfig rt;                    // threads = 0: all cores
//   int n = elarin::setup_threads(rt.threads);  // the threads actually used
//   elarin::BlasInfo blas = elarin::detect_blas();
//   if (!blas.fast) elarin::log_warn("{}", blas.hint);
#pragma once

#include <cstdint>
#include <string>

#include "elarin/core/config.hpp"

namespace elarin {

// runtime.*: what the process runs with. Regions choose their device in brain.devices.
struct RuntimeConfig {
  int threads = 0;
  int64_t seed = 1337;

  template <class V>
  void visit(V& v) {
    v("threads", threads, "worker threads; 0 = all cores (--threads overrides it)", at_least(0));
    v("seed", seed, "random seed for torch and data order");
  }
};

// Sets LibTorch intra-op (and OpenMP) threads; 0 means every core. Returns the count set.
// Throws UsageError for a negative count.
int setup_threads(int requested);

// Whether the hand-vectorised decoding kernels (nn/skinny_matmul, the Elara decoder's
// attention) run: the CPU has AVX-512F and they are not switched off, by
// set_avx512_kernels(false) or ELARIN_NO_AVX512=1 in the environment. Otherwise portable code
// runs (torch::mm, plain loops). A weight packed while they were on stays packed.
bool cpu_has_avx512f();
void set_avx512_kernels(bool enabled);

struct BlasInfo {
  std::string name;     // "OpenBLAS 0.3.21 (openmp)", "reference BLAS", "MKL", ...
  std::string library;  // resolved path of the loaded BLAS library, or ""
  bool fast = false;    // false for the reference BLAS (~30x slower matmuls)
  std::string hint;     // what to install when !fast
};
// Inspects the shared libraries loaded into this process.
BlasInfo detect_blas();

// Multi-line text of `elarin --version`.
std::string version_text();

// The process's peak resident memory so far (getrusage's ru_maxrss), in MiB.
double peak_rss_mib();

}  // namespace elarin
