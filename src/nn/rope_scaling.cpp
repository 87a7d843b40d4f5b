// RoPE frequency scaling (see the header): the types table and the inverse frequencies.
#include "elarin/nn/rope_scaling.hpp"

#include <c10/util/StringUtil.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"

namespace elarin::nn {

const std::vector<std::string>& rope_scaling_types() {
  static const std::vector<std::string> kTypes = {"default", "linear", "llama3"};
  return kTypes;
}

void RopeScaling::validate(const std::string& prefix) const {
  check_constraints(*this, prefix);
  if (type == "llama3" && !(high_freq_factor > low_freq_factor))
    throw UsageError(prefix + ".high_freq_factor: got " + c10::str(high_freq_factor) +
                     ", expected > low_freq_factor (" + c10::str(low_freq_factor) +
                     ") for llama3 scaling");
}

std::vector<double> rope_inv_freq(int64_t head_dim, double theta, const RopeScaling& s) {
  std::vector<double> inv_freq(static_cast<size_t>(head_dim / 2));
  for (size_t i = 0; i < inv_freq.size(); ++i)
    inv_freq[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
  if (s.type == "linear") {
    for (double& f : inv_freq) f /= s.factor;
  } else if (s.type == "llama3") {
    // Wavelengths (positions per turn) shorter than original / high_freq_factor already turn
    // many times within the original context: kept. Longer than original / low_freq_factor:
    // interpolated (/ factor). Between: a linear blend in original / wavelen.
    const double original = static_cast<double>(s.original_max_position_embeddings);
    const double low_freq_wavelen = original / s.low_freq_factor;
    const double high_freq_wavelen = original / s.high_freq_factor;
    for (double& f : inv_freq) {
      const double wavelen = 2 * M_PI / f;
      if (wavelen > low_freq_wavelen) {
        f /= s.factor;
      } else if (!(wavelen < high_freq_wavelen)) {
        const double smooth =
            (original / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1 - smooth) * f / s.factor + smooth * f;
      }
    }
  } else if (s.type != "default") {
    throw UsageError(unknown_name_message("RoPE scaling type", s.type, rope_scaling_types()));
  }
  return inv_freq;
}

}  // namespace elarin::nn
