// Each region file's registry entry (internal: the table in registry.cpp lists them).
#pragma once

#include "elarin/brain/region.hpp"

namespace elarin::regions {

brain::RegionKind retina_kind();
brain::RegionKind occipital_kind();
brain::RegionKind thalamus_kind();
brain::RegionKind hippocampus_kind();
brain::RegionKind basal_ganglia_kind();
brain::RegionKind motor_kind();
brain::RegionKind hypothalamus_kind();
brain::RegionKind ifg_kind();
brain::RegionKind cerebellum_kind();
brain::RegionKind insula_kind();
brain::RegionKind cochlea_kind();
brain::RegionKind auditory_kind();
brain::RegionKind wernicke_kind();
brain::RegionKind amygdala_kind();
brain::RegionKind pfc_kind();
brain::RegionKind dmn_kind();

}  // namespace elarin::regions
