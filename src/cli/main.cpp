// The `elarin` binary: everything lives in the library; this only forwards to run_cli.
//
// OpenMP threads (LibTorch's and OpenBLAS's) spin ~300k times while they wait by default. On
// a shared 2-core machine a spinning pool starved by one other busy process made `train moe`
// 10x slower, while sleeping at once (OMP_WAIT_POLICY=PASSIVE) made small-op workloads 40%
// slower (docs/DECISIONS.md). Unless the user chose, we restart once with a short spin,
// GOMP_SPINCOUNT=10000: libgomp reads it only at start-up.
#include <unistd.h>

#include <cstdlib>

#include "elarin/cli/cli.hpp"

int main(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
    setenv("GOMP_SPINCOUNT", "10000", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then go on as we are
  }
  return elarin::run_cli(argc, argv);
}
