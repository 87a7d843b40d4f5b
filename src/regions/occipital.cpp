// Occipital cortex: reduces the retina's 512-d embedding to the 128 visual features the rest
// of the brain reads, by Oja's subspace rule (regions/subspace_cortex.hpp).
#include "regions/subspace_cortex.hpp"

namespace elarin::regions {
namespace {

class Occipital : public SubspaceCortex {
 public:
  Occipital(const SubspaceSettings& s, const brain::BrainFacts&) : SubspaceCortex("occipital", s) {}
};

}  // namespace

brain::RegionKind occipital_kind() {
  return brain::make_region_kind<Occipital, SubspaceSettings>(
      "occipital", "visual cortex: 512 -> 128 principal subspace, Oja's rule");
}

}  // namespace elarin::regions
