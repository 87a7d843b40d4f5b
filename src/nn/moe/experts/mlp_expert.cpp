// `mlp` expert: Linear(d_in, hidden) -> [LayerNorm] -> GELU -> dropout -> Linear(hidden, d_out).
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/expert.hpp"

namespace elarin::nn {
namespace {

class MlpExpert : public ExpertImpl {
 public:
  explicit MlpExpert(const ExpertSpec& s) : dropout_(s.dropout) {
    fc1 = register_module("fc1", torch::nn::Linear(s.d_in, s.hidden));
    fc2 = register_module("fc2", torch::nn::Linear(s.hidden, s.d_out));
    if (s.norm)
      ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({s.hidden})));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = fc1(x);  // (N, hidden)
    if (ln) h = ln(h);
    h = torch::gelu(h);
    if (dropout_ > 0) h = torch::dropout(h, dropout_, is_training());
    return fc2(h);  // (N, d_out)
  }
  std::string type() const override { return "mlp"; }

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm ln{nullptr};
  double dropout_;
};

}  // namespace

static ExpertPtr make_mlp_expert(const ExpertSpec& s) {
  if (s.d_in < 1 || s.d_out < 1 || s.hidden < 1)
    throw UsageError("mlp expert: d_in, d_out and hidden must be >= 1, got " +
                     std::to_string(s.d_in) + ", " + std::to_string(s.d_out) + ", " +
                     std::to_string(s.hidden));
  return std::make_shared<MlpExpert>(s);
}

// The table entry (expert_registry.cpp lists it).
ExpertType mlp_expert_type() {
  return {"mlp", "Linear -> GELU -> Linear on a row", &make_mlp_expert};
}

}  // namespace elarin::nn
