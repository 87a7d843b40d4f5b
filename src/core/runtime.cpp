// Threads, BLAS detection (by the libraries mapped into the process) and
// the version report.
#include "elarin/core/runtime.hpp"

#include <dlfcn.h>
#include <sys/resource.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "elarin/core/errors.hpp"

namespace elarin {

int setup_threads(int requested) {
  if (requested < 0) {
    throw UsageError("--threads: got " + std::to_string(requested) +
                     ", expected 0 (all cores) or a positive count");
  }
  int n = requested;
  if (n == 0) {
    n = static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
  }
  at::set_num_threads(n);
  return at::get_num_threads();
}

namespace {
std::atomic<bool>& avx512_enabled() {
  static std::atomic<bool> on{std::getenv("ELARIN_NO_AVX512") == nullptr ||
                              std::string(std::getenv("ELARIN_NO_AVX512")) == "0"};
  return on;
}
}  // namespace

bool cpu_has_avx512f() {
  static const bool cpu = __builtin_cpu_supports("avx512f");
  return cpu && avx512_enabled().load(std::memory_order_relaxed);
}

void set_avx512_kernels(bool enabled) { avx512_enabled() = enabled; }

namespace {

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

}  // namespace

BlasInfo detect_blas() {
  BlasInfo info;
  // The library that answers LibTorch's sgemm_ calls is the one the dynamic linker bound
  // first; several BLAS may be mapped (liblapack pulls libopenblas even when libblas.so.3
  // is the reference one), so ask dladdr which file defines the symbol in use.
  void* sgemm = ::dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info where{};
  if (sgemm == nullptr || ::dladdr(sgemm, &where) == 0 || where.dli_fname == nullptr) {
    info.name = "none found (LibTorch's built-in kernels)";
    info.fast = true;
    return info;
  }
  info.library = real_path(where.dli_fname);
  const std::string& lib = info.library;
  if (lib.find("openblas") != std::string::npos) {
    info.name = "OpenBLAS";
    using ConfigFn = char* (*)();
    if (auto fn = reinterpret_cast<ConfigFn>(::dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
      std::istringstream words(fn());  // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ..."
      std::string product, version;
      words >> product >> version;
      if (!version.empty()) info.name += " " + version;
    }
    if (lib.find("openmp") != std::string::npos) info.name += " (openmp)";
    if (lib.find("pthread") != std::string::npos) info.name += " (pthread)";
  } else if (lib.find("mkl") != std::string::npos) {
    info.name = "MKL";
  } else if (lib.find("blis") != std::string::npos) {
    info.name = "BLIS";
  } else if (lib.find("atlas") != std::string::npos) {
    info.name = "ATLAS";
  } else if (lib.find("/blas/") != std::string::npos || lib.find("libblas") != std::string::npos) {
    info.name = "reference BLAS";
  } else {
    info.name = "unknown BLAS";
  }
  info.fast = info.name != "reference BLAS";
  if (!info.fast) {
    info.hint = "reference BLAS is ~30x slower: install libopenblas0-openmp (scripts/setup.sh)";
  }
  return info;
}

std::string version_text() {
  std::ostringstream os;
  BlasInfo blas = detect_blas();
  os << "elarin " << ELARIN_VERSION << "\n";
  os << "libtorch " << TORCH_VERSION << "\n";
  os << "blas " << blas.name;
  if (!blas.library.empty()) os << " [" << blas.library << "]";
  os << "\n";
  os << "threads " << at::get_num_threads() << " (of " << std::thread::hardware_concurrency()
     << " cores)\n";
  os << "cuda "
     << (torch::cuda::is_available()
             ? "available, " + std::to_string(torch::cuda::device_count()) + " device(s)"
             : std::string("not available"))
     << "\n";
  if (!blas.fast) os << "warning: " << blas.hint << "\n";
  return os.str();
}

double peak_rss_mib() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace elarin
