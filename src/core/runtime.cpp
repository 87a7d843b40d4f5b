// Threads, device parsing, BLAS detection (by the libraries mapped into the process) and
// the version report.
#include "elarin/core/runtime.hpp"

#include <dlfcn.h>
#include <link.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <climits>
#include <cstdlib>
#include <sstream>
#include <thread>
#include <vector>

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

c10::Device resolve_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw UsageError("device '" + name + "': CUDA is not available in this build or machine; use cpu");
    }
    int index = 0;
    if (name.size() > 5) {
      char* end = nullptr;
      long v = std::strtol(name.c_str() + 5, &end, 10);
      if (*end != '\0' || v < 0) {
        throw UsageError("device '" + name + "': expected cuda:N with N a GPU index");
      }
      index = static_cast<int>(v);
    }
    if (index >= static_cast<int>(torch::cuda::device_count())) {
      throw UsageError("device '" + name + "': only " +
                       std::to_string(torch::cuda::device_count()) + " GPU(s) present");
    }
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw UsageError("device '" + name + "': expected cpu, cuda or cuda:N");
}

namespace {

int collect_library(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name && *info->dlpi_name) out->emplace_back(info->dlpi_name);
  return 0;
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

}  // namespace

BlasInfo detect_blas() {
  BlasInfo info;
  // OpenBLAS exports openblas_get_config ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ...").
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(::dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    std::string config = fn();
    std::istringstream words(config);
    std::string product, version;
    words >> product >> version;
    info.name = product + " " + version;
  }
  std::vector<std::string> libs;
  ::dl_iterate_phdr(collect_library, &libs);
  for (const auto& lib : libs) {
    std::string resolved = real_path(lib);
    bool blas = resolved.find("blas") != std::string::npos ||
                resolved.find("libmkl") != std::string::npos;
    if (!blas) continue;
    if (resolved.find("lapack") != std::string::npos) continue;
    info.library = resolved;
    if (resolved.find("openblas-openmp") != std::string::npos) {
      info.name = (info.name.empty() ? "OpenBLAS" : info.name) + " (openmp)";
    } else if (resolved.find("openblas-pthread") != std::string::npos) {
      info.name = (info.name.empty() ? "OpenBLAS" : info.name) + " (pthread)";
    } else if (resolved.find("libmkl") != std::string::npos) {
      info.name = "MKL";
    } else if (resolved.find("blis") != std::string::npos) {
      info.name = "BLIS";
    } else if (info.name.empty()) {
      info.name = "reference BLAS";
    }
    break;
  }
  if (info.name.empty()) info.name = "none found (LibTorch's built-in kernels)";
  info.fast = info.name.find("reference") == std::string::npos;
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
  os << "cuda " << (torch::cuda::is_available() ? "available, " + std::to_string(torch::cuda::device_count()) + " device(s)" : std::string("not available")) << "\n";
  if (!blas.fast) os << "warning: " << blas.hint << "\n";
  return os.str();
}

}  // namespace elarin
