// Expert networks of the Bio-MoE core and their registry table. An expert maps (N, d_in)
// rows to (N, d_out) rows; conv experts view a row as (C, L) or (C, H, W). Adding a type is
// one file in src/nn/moe/experts/ and one row in the table.
//
//   elarin::nn::ExpertSpec spec;
//   spec.d_in = 256;  spec.d_out = 256;  spec.hidden = 512;
//   elarin::nn::ExpertPtr e = elarin::nn::make_expert("mlp", spec);  // UsageError lists the names
//   torch::Tensor x = torch::randn({8, 256});
//   torch::Tensor y = e->forward(x);  // (N, 256) -> (N, 256)
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace elarin::nn {

struct ExpertSpec {
  int64_t d_in = 256;    // input width of a row
  int64_t d_out = 256;   // output width of a row
  int64_t hidden = 256;  // mlp: hidden units; conv: output channels of the first conv
  int64_t channels = 1;  // conv: C of the (C, L) / (C, H, W) view of an input row
  double dropout = 0.0;  // between the expert's layers, training only
  bool norm = false;     // normalise the first layer's output: conv -> BatchNorm, mlp -> LayerNorm
};

class ExpertImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;  // (N, d_in) -> (N, d_out)
  virtual std::string type() const = 0;                       // its registry name
};
using ExpertPtr = std::shared_ptr<ExpertImpl>;

struct ExpertType {
  const char* name;
  const char* summary;
  ExpertPtr (*make)(const ExpertSpec& spec);  // throws UsageError on a spec it cannot take
};

// The registry, in help order (src/nn/moe/expert_registry.cpp).
const std::vector<ExpertType>& expert_type_table();
// Builds an expert by registry name; UsageError naming the bad name and the valid ones.
ExpertPtr make_expert(const std::string& type, const ExpertSpec& spec);
// Copies every parameter and buffer of `from` into `to` (same type and spec), no autograd.
void copy_expert(const ExpertImpl& from, ExpertImpl& to);

}  // namespace elarin::nn
