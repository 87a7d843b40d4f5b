// Wall-clock seconds since a steady-clock time point: the one timing helper of the trainers.
//
//   const auto t0 = std::chrono::steady_clock::now();
//   double s = elarin::seconds_since(t0);
#pragma once

#include <chrono>

namespace elarin {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace elarin
