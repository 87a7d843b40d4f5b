// Occipital cortex: reduces the retina's 512-d embedding to the 128 features the rest of
// the brain reads. The map is a PlasticLinear layer learnt by Oja's subspace rule on
// centred, variance-scaled embeddings: during development (unlabeled images) and, if
// `online_lr` > 0, while the brain runs. Its rows converge to the embeddings' principal
// subspace, so the 128 features keep most of the variance. Output: unit length.
#include <torch/torch.h>

#include <cmath>

#include "elarin/brain/learning_rules.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/nn/plastic_linear.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct OccipitalSettings {
  int64_t input = 512;     // the retina's embedding
  int64_t features = 128;  // output size
  int64_t epochs = 30;     // Oja development epochs
  int64_t batch = 64;      // samples per Oja update
  double lr = 0.01;        // Oja rate during development (on variance-scaled input)
  double online_lr = 0.0;  // Oja rate while the brain runs; 0 = fixed features
  template <class V>
  void visit(V& v) {
    v("input", input, "size of the retina's embedding");
    v("features", features, "features passed on (the principal subspace's dimension)");
    v("epochs", epochs, "Oja development epochs");
    v("batch", batch, "samples per Oja update during development");
    v("lr", lr, "Oja learning rate during development");
    v("online_lr", online_lr, "Oja learning rate while the brain runs (0: fixed)");
  }
};

class Occipital : public brain::Region {
 public:
  Occipital(const OccipitalSettings& s, const brain::BrainFacts&)
      : Region("occipital"), s_(s), map_(options(s)) {
    if (s.input < 1 || s.features < 1 || s.features > s.input || s.epochs < 0 || s.batch < 1 ||
        s.lr < 0 || s.online_lr < 0)
      throw UsageError(
          "region.occipital: expected 1 <= features <= input, epochs >= 0, batch >= 1, rates >= 0");
    initialise(1);
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"input", s_.input}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"features", s_.features}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    const auto& x = in.at("input");
    if (x.abs().max().item<float>() == 0) return {{"features", torch::zeros({s_.features})}};
    auto xc = (x - mean_) / scale_;  // (D) centred, variance-scaled
    auto y = map_(xc);               // (F)
    if (s_.online_lr > 0) brain::apply_learning_rule("oja", *map_, {xc, y, 0.0, s_.online_lr});
    return {{"features", y / y.norm().clamp_min(1e-12)}};
  }

  bool develops() const override { return true; }
  void develop(const torch::Tensor& samples, uint64_t seed) override {
    TORCH_CHECK(samples.dim() == 2 && samples.size(1) == s_.input,
                "occipital.develop: expected (N, ", s_.input, ")");
    const int64_t n = samples.size(0);
    if (n < 2) return;
    mean_ = samples.mean(0);
    auto xc = samples - mean_;
    // One scale for all dimensions: the mean per-dimension variance becomes 1.
    scale_ = xc.pow(2).mean().sqrt().clamp_min(1e-12);
    xc = xc / scale_;
    auto gen = at::detail::createCPUGenerator(seed);
    for (int64_t epoch = 0; epoch < s_.epochs; ++epoch) {
      auto order = torch::randperm(n, gen);
      const double lr =
          s_.lr * (1.0 - 0.9 * double(epoch) / double(std::max<int64_t>(1, s_.epochs)));
      for (int64_t i = 0; i + s_.batch <= n; i += s_.batch) {
        auto x = xc.index_select(0, order.narrow(0, i, s_.batch));
        brain::apply_learning_rule("oja", *map_, {x, map_(x), 0.0, lr});
      }
    }
    log_info(
        "occipital: Oja development over {} embeddings, {} epochs: keeps {:.1f}% of the variance",
        n, s_.epochs, 100.0 * kept_variance(xc));
  }

  // Fraction of the (scaled) samples' variance inside the span of the map's rows.
  double kept_variance(const torch::Tensor& xc) const {
    auto q = std::get<0>(torch::linalg::qr(map_->live_weight().t()));  // (D, F) orthonormal
    return (torch::mm(xc, q).pow(2).sum() / xc.pow(2).sum()).item<double>();
  }

  brain::RegionState state() const override {
    return {{"map.weight", map_->weight.clone()},
            {"mean", mean_.clone()},
            {"scale", scale_.view({1}).clone()}};
  }
  void load_state(const brain::RegionState& st) override {
    const auto& w = brain::state_tensor(st, "map.weight", {s_.features, s_.input}, torch::kFloat);
    const auto& m = brain::state_tensor(st, "mean", {s_.input}, torch::kFloat);
    const auto& sc = brain::state_tensor(st, "scale", {1}, torch::kFloat);
    if (!(sc.item<float>() > 0)) throw FormatError("state tensor 'scale' must be > 0");
    map_->weight.copy_(w);
    mean_ = m.clone();
    scale_ = sc.reshape({1}).squeeze().clone();  // 0-dim (view({}) would pick the dtype overload)
  }
  void initialise(uint64_t seed) override {
    torch::manual_seed(seed);
    map_->reset("kaiming");
    mean_ = torch::zeros({s_.input});
    scale_ = torch::ones({});
  }

 private:
  static nn::PlasticLinearOptions options(const OccipitalSettings& s) {
    nn::PlasticLinearOptions o(s.input, s.features);
    o.init = "kaiming";
    return o;
  }
  OccipitalSettings s_;
  nn::PlasticLinear map_;  // (F, D)
  torch::Tensor mean_;     // (D)
  torch::Tensor scale_;    // () one scale for all dimensions
};

}  // namespace

brain::RegionKind occipital_kind() {
  return brain::make_region_kind<Occipital, OccipitalSettings>(
      "occipital", "visual cortex: 512 -> 128 principal subspace, Oja's rule");
}

}  // namespace elarin::regions
