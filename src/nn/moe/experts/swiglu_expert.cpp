// `swiglu` expert: the Llama feed-forward down(silu(gate(x)) * up(x)) without biases, d_in ->
// hidden -> d_out (d_in == d_out in a transformer). The token-level experts of the Elara LM;
// parameter names match Hugging Face's (gate_proj, up_proj, down_proj). Leaves out dropout.
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/expert.hpp"

namespace elarin::nn {
namespace {

class SwiGLUExpert : public ExpertImpl {
 public:
  explicit SwiGLUExpert(const ExpertSpec& s) {
    using torch::nn::LinearOptions;
    gate_proj = register_module("gate_proj",
                                torch::nn::Linear(LinearOptions(s.d_in, s.hidden).bias(false)));
    up_proj =
        register_module("up_proj", torch::nn::Linear(LinearOptions(s.d_in, s.hidden).bias(false)));
    down_proj = register_module("down_proj",
                                torch::nn::Linear(LinearOptions(s.hidden, s.d_out).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return down_proj(torch::silu(gate_proj(x)) * up_proj(x));  // (N, d_out)
  }
  std::string type() const override { return "swiglu"; }

  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};

}  // namespace

static ExpertPtr make_swiglu_expert(const ExpertSpec& s) {
  if (s.d_in < 1 || s.d_out < 1 || s.hidden < 1)
    throw UsageError("swiglu expert: d_in, d_out and hidden must be >= 1, got " +
                     std::to_string(s.d_in) + ", " + std::to_string(s.d_out) + ", " +
                     std::to_string(s.hidden));
  return std::make_shared<SwiGLUExpert>(s);
}

// The table entry (expert_registry.cpp lists it).
ExpertType swiglu_expert_type() {
  return {"swiglu", "Llama feed-forward: down(silu(gate(x)) * up(x)), no biases (LM experts)",
          &make_swiglu_expert};
}

}  // namespace elarin::nn
