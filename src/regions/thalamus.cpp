// Thalamus: salience gating of the sensory streams. Each stream's gain is its share of the
// streams' energy; streams under `min_gain` are filtered out (sensor load). Outputs the
// fused vector (the gated streams and the pfc context side by side) and the focus (the
// gain-weighted mix of the streams) that action selection reads. No plasticity.
#include <torch/torch.h>

#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct ThalamusSettings {
  int64_t stream = 128;
  double min_gain = 0.05;
  template <class V>
  void visit(V& v) {
    v("stream", stream,
      "size of each sensory stream (vision, audio, text) and of the pfc's "
      "context",
      at_least(1));
    v("min_gain", min_gain, "streams with a smaller share of the energy are filtered out",
      in_range(0, 1));
  }
};

class Thalamus : public brain::Region {
 public:
  Thalamus(const ThalamusSettings& s, const brain::BrainFacts&) : Region("thalamus"), s_(s) {
    check_constraints(s, "region.thalamus");
  }
  std::vector<brain::PortSpec> inputs() const override {
    return {
        {"vision", s_.stream}, {"audio", s_.stream}, {"text", s_.stream}, {"context", s_.stream}};
  }
  std::vector<brain::PortSpec> outputs() const override {
    return {{"fused", 4 * s_.stream}, {"focus", s_.stream}, {"gains", 3}};
  }
  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    auto streams = torch::stack({in.at("vision"), in.at("audio"), in.at("text")});  // (3, S)
    auto energy = streams.pow(2).sum(1);                                            // (3)
    auto gains = energy / energy.sum().clamp_min(1e-12);
    gains = torch::where(gains < s_.min_gain, torch::zeros_like(gains), gains);
    auto gated = streams * gains.unsqueeze(1);  // (3, S)
    auto focus = gated.sum(0) / gains.sum().clamp_min(1e-12);
    return {{"fused", torch::cat({gated.flatten(), in.at("context")})},
            {"focus", focus},
            {"gains", gains}};
  }

 private:
  ThalamusSettings s_;
};

}  // namespace

brain::RegionKind thalamus_kind() {
  return brain::make_region_kind<Thalamus, ThalamusSettings>(
      "thalamus", "salience gating of the sensory streams -> fused 512 and a 128 focus");
}

}  // namespace elarin::regions
