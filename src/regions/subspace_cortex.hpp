// A sensory cortex that reduces an encoder's embedding to the features the rest of the brain
// reads: occipital (retina 512 -> 128) and auditory (cochlea 512 -> 128) are this class under
// their own names. The map is a PlasticLinear layer learnt by Oja's subspace rule on centred,
// variance-scaled embeddings: during development (unlabeled samples) and, if `online_lr` > 0,
// while the brain runs. Its rows converge to the embeddings' principal subspace, so the
// features keep most of the variance. Output: unit length; zeros for a silent input.
// Internal to src/regions.
#pragma once

#include <torch/types.h>

#include "elarin/nn/plastic_linear.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {

// region.occipital.* and region.auditory.*
struct SubspaceSettings {
  int64_t input = 512;
  int64_t features = 128;
  int64_t epochs = 30;
  int64_t batch = 64;
  double lr = 0.01;
  double online_lr = 0.0;
  template <class V>
  void visit(V& v) {
    v("input", input, "size of the encoder's embedding", at_least(1));
    v("features", features,
      "features passed on (the principal subspace's dimension; at most input)", at_least(1));
    v("epochs", epochs, "Oja development epochs", at_least(0));
    v("batch", batch, "samples per Oja update during development", at_least(1));
    v("lr", lr, "Oja learning rate during development (on variance-scaled input)", at_least(0));
    v("online_lr", online_lr, "Oja learning rate while the brain runs; 0 = fixed features",
      at_least(0));
  }
};

class SubspaceCortex : public brain::Region {
 public:
  SubspaceCortex(std::string name, const SubspaceSettings& s);
  std::vector<brain::PortSpec> inputs() const override { return {{"input", s_.input}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"features", s_.features}}; }
  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override;
  bool develops() const override { return true; }
  void develop(const torch::Tensor& samples, uint64_t seed) override;  // (N, input)
  brain::RegionState state() const override;
  void load_state(const brain::RegionState& st) override;
  void initialise(uint64_t seed) override;
  // Fraction of the (scaled) samples' variance inside the span of the map's rows.
  double kept_variance(const torch::Tensor& xc) const;

 private:
  SubspaceSettings s_;
  nn::PlasticLinear map_;  // (F, D)
  torch::Tensor mean_;     // (D)
  torch::Tensor scale_;    // () one scale for all dimensions
};

}  // namespace elarin::regions
