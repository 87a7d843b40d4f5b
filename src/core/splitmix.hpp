// splitmix64 (Steele, Lea & Flood 2014): a 64-bit hash that, stepped by its gamma, is a small
// seedable random stream. Used for the brain's per-tick seeds and the hippocampus's replay.
//
//   uint64_t z = seed;
//   z += elarin::kSplitMixGamma;  const uint64_t r = elarin::splitmix64_finish(z);
//   elarin::splitmix64(seed) == elarin::splitmix64_finish(seed + elarin::kSplitMixGamma)
#pragma once

#include <cstdint>

namespace elarin {

inline constexpr uint64_t kSplitMixGamma = 0x9e3779b97f4a7c15ULL;

// The output function of one state.
inline uint64_t splitmix64_finish(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// One step from state x: the hash of x + gamma.
inline uint64_t splitmix64(uint64_t x) { return splitmix64_finish(x + kSplitMixGamma); }

}  // namespace elarin
