// Region table lookup and port checks (see the header).
#include "elarin/brain/region.hpp"

#include <torch/torch.h>

#include <filesystem>

#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"
#include "elarin/core/safetensors.hpp"

namespace elarin::brain {
namespace {

bool all_zero(const RegionState& tensors) {
  for (const auto& [name, t] : tensors)
    if (t.numel() > 0 && t.ne(0).any().item<bool>()) return false;
  return true;
}

}  // namespace

Region::Restored Region::restore(const std::string& path, bool neurogenesis, uint64_t seed) {
  const bool exists = std::filesystem::exists(path);
  RegionState saved;
  if (exists) saved = SafeTensors::open(path).tensors();
  if (exists && !all_zero(saved)) {
    try {
      load_state(saved);
    } catch (const FormatError& e) {
      throw FormatError(path + ": " + e.what() + " (saved by a brain configured differently? " +
                        "remove this file and region " + name() +
                        " grows anew, or start over with `elarin wipe`)");
    }
    return Restored::kLoaded;
  }
  if (!exists && state().empty()) return Restored::kStateless;  // no file to want
  if (!neurogenesis)
    throw Error("region " + name() + ": " + path + (exists ? " holds only zeros" : " is missing") +
                " and brain.neurogenesis is off");
  initialise(seed);
  return Restored::kInitialised;
}

bool Region::persist(const std::string& path,
                     const std::map<std::string, std::string>& metadata) const {
  RegionState st = state();
  if (st.empty()) return false;
  save_safetensors(path, st, metadata);
  return true;
}

const RegionKind& find_region_kind(const RegionTable& table, const std::string& name) {
  return find_named(table, name, "region");
}

const torch::Tensor& state_tensor(const RegionState& state, const std::string& name,
                                  const std::vector<int64_t>& shape, torch::ScalarType dtype) {
  auto it = state.find(name);
  if (it == state.end()) throw FormatError("state has no tensor '" + name + "'");
  const auto& t = it->second;
  bool ok = t.scalar_type() == dtype && t.dim() == static_cast<int64_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i)
    ok = shape[i] < 0 || t.size(static_cast<int64_t>(i)) == shape[i];
  if (!ok)
    throw FormatError("state tensor '" + name + "' is " +
                      std::string(c10::toString(t.scalar_type())) + " " + c10::str(t.sizes()) +
                      ", expected " + std::string(c10::toString(dtype)) + " " + c10::str(shape) +
                      " (-1: any)");
  return t;
}

void check_ports(const std::string& region, const std::vector<PortSpec>& specs, const Ports& got) {
  for (const auto& p : specs) {
    auto it = got.find(p.name);
    if (it == got.end())
      throw Error("region " + region + ": tick did not write port '" + p.name + "'");
    const auto& t = it->second;
    if (!t.defined() || t.dim() != 1 || t.size(0) != p.size || t.scalar_type() != torch::kFloat)
      throw Error("region " + region + ": port '" + p.name + "' holds " +
                  (t.defined()
                       ? std::string(c10::toString(t.scalar_type())) + " " + c10::str(t.sizes())
                       : std::string("nothing")) +
                  ", expected float32 [" + std::to_string(p.size) + "]");
  }
}

}  // namespace elarin::brain
