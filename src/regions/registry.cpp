// The region table (see include/elarin/regions/registry.hpp). Each name in the list below is a
// region file's `<name>_kind()`; the list is the table's order (`elarin brain --help`).
#include "elarin/regions/registry.hpp"

#include "regions/kinds.hpp"

#define ELARIN_REGION_KINDS(X)                                                              \
  X(retina)                                                                                 \
  X(occipital)                                                                              \
  X(thalamus) X(hippocampus) X(basal_ganglia) X(motor) X(hypothalamus) X(ifg) X(cerebellum) \
      X(insula) X(cochlea) X(auditory) X(wernicke) X(amygdala) X(pfc) X(dmn)

namespace elarin::regions {

#define ELARIN_DECLARE_KIND(name) brain::RegionKind name##_kind();
ELARIN_REGION_KINDS(ELARIN_DECLARE_KIND)
#undef ELARIN_DECLARE_KIND

const brain::RegionTable& region_table() {
#define ELARIN_KIND_ROW(name) name##_kind(),
  static const brain::RegionTable table = {ELARIN_REGION_KINDS(ELARIN_KIND_ROW)};
#undef ELARIN_KIND_ROW
  return table;
}

}  // namespace elarin::regions
