// RoPE frequency scaling as Hugging Face transformers defines it (modeling_rope_utils.py):
// "linear" divides every frequency by `factor`; "llama3" (Llama 3.1+) keeps the short
// wavelengths, divides the long ones by `factor` and blends the band between. Both leave the
// cos/sin amplitude at 1 (attention_scaling 1). Leaves out yarn, dynamic NTK and longrope.
//
//   elarin::nn::RopeScaling s;  // type "default": plain RoPE
//   s.type = "llama3";  s.factor = 8;  s.original_max_position_embeddings = 8192;
//   s.validate("rope_scaling");  // UsageError naming rope_scaling.<key> on a bad value
//   std::vector<double> inv_freq = elarin::nn::rope_inv_freq(/*head_dim=*/128, 500000.0, s);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "elarin/core/config.hpp"

namespace elarin::nn {

// The scaling types, in the order messages list them. A registered name is a config-file
// contract (Hugging Face's rope_type): never rename one.
const std::vector<std::string>& rope_scaling_types();

struct RopeScaling {
  std::string type = "default";   // default (none), linear or llama3
  double factor = 1.0;            // context extension, e.g. 8 (Llama 3.1), 32 (Llama 3.2)
  double low_freq_factor = 1.0;   // llama3: wavelengths > original / low_freq_factor: / factor
  double high_freq_factor = 4.0;  // llama3: wavelengths < original / high_freq_factor: kept
  int64_t original_max_position_embeddings = 8192;  // llama3: context before the extension

  template <class V>
  void visit(V& v) {
    v("type", type, "RoPE scaling: default (none), linear (frequencies / factor), llama3",
      one_of(rope_scaling_types()));
    v("factor", factor, "frequency divisor of linear, and of llama3's long wavelengths",
      greater_than(0));
    v("low_freq_factor", low_freq_factor,
      "llama3: wavelengths above original_max_position_embeddings / this are divided by factor",
      greater_than(0));
    v("high_freq_factor", high_freq_factor,
      "llama3: wavelengths below original_max_position_embeddings / this are kept; "
      "> low_freq_factor",
      greater_than(0));
    v("original_max_position_embeddings", original_max_position_embeddings,
      "llama3: the context length the model was trained with before the extension", at_least(1));
  }
  // Declared constraints, then llama3's high_freq_factor > low_freq_factor; UsageError naming
  // `<prefix>.<key>`.
  void validate(const std::string& prefix) const;
  bool is_default() const { return type == "default"; }
};

// The D/2 inverse frequencies theta^(-2i/D), i < D/2, with `scaling` applied, in float64
// (Hugging Face computes them in float32; the two agree to float32 rounding).
std::vector<double> rope_inv_freq(int64_t head_dim, double theta,
                                  const RopeScaling& scaling = RopeScaling());

}  // namespace elarin::nn
