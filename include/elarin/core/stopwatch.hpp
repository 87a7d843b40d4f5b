// Monotonic time, the one clock helper of trainers, benchmarks and the bus: seconds since a
// steady-clock time point, seconds on the steady clock (deadlines), and the time one call
// takes. Leaves out wall-clock time (TensorBoard's event stamps, run names).
//
//   const auto t0 = std::chrono::steady_clock::now();
//   double s = elarin::seconds_since(t0);
//   const double deadline = elarin::now_seconds() + 2.0;
//   auto a = torch::randn({64, 64}), b = torch::randn({64, 64}), c = torch::empty({64, 64});
//   double ms = 1e3 * elarin::seconds_of([&] { torch::mm_out(c, a, b); });
#pragma once

#include <chrono>
#include <utility>

namespace elarin {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Seconds on the steady clock, from an arbitrary start: only differences mean anything.
inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds `f()` takes.
template <typename F>
double seconds_of(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  std::forward<F>(f)();
  return seconds_since(t0);
}

}  // namespace elarin
