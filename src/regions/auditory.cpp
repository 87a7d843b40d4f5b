// Auditory cortex: reduces the cochlea's 512-d embedding to the 128 sound features the rest
// of the brain reads, by Oja's subspace rule (regions/subspace_cortex.hpp), developed on
// the cochlea's embeddings of unlabeled utterances.
#include "regions/subspace_cortex.hpp"

namespace elarin::regions {
namespace {

class Auditory : public SubspaceCortex {
 public:
  Auditory(const SubspaceSettings& s, const brain::BrainFacts&) : SubspaceCortex("auditory", s) {}
};

}  // namespace

brain::RegionKind auditory_kind() {
  return brain::make_region_kind<Auditory, SubspaceSettings>(
      "auditory", "auditory cortex: 512 -> 128 principal subspace, Oja's rule");
}

}  // namespace elarin::regions
