// The `elarin` binary: everything lives in the library; this only forwards to run_cli.
//
// OpenMP threads (LibTorch's and OpenBLAS's) spin while they wait by default. On a shared
// 2-core machine a spinning pool starved by one other busy process made `train moe` 10x
// slower (docs/DECISIONS.md), so unless the user chose a policy we restart once with
// OMP_WAIT_POLICY=PASSIVE: libgomp reads it only at start-up.
#include <unistd.h>

#include <cstdlib>

#include "elarin/cli/cli.hpp"

int main(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then go on as we are
  }
  return elarin::run_cli(argc, argv);
}
