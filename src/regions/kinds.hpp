// What every region file includes: the region interface and the constraint helpers its
// settings use. Each file defines its table entry, `brain::RegionKind <name>_kind()`, and
// registry.cpp lists it: a new kind is one new file plus one word in that list.
#pragma once

#include "elarin/brain/region.hpp"
