// The region table (see include/elarin/regions/registry.hpp).
#include "elarin/regions/registry.hpp"

#include "regions/kinds.hpp"

namespace elarin::regions {

const brain::RegionTable& region_table() {
  static const brain::RegionTable table = {
      retina_kind(),        occipital_kind(), thalamus_kind(),     hippocampus_kind(),
      basal_ganglia_kind(), motor_kind(),     hypothalamus_kind(), ifg_kind(),
      cerebellum_kind(),    insula_kind(),    cochlea_kind(),      auditory_kind(),
      wernicke_kind(),      amygdala_kind(),  pfc_kind(),          dmn_kind(),
  };
  return table;
}

}  // namespace elarin::regions
