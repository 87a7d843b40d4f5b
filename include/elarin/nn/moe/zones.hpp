// Zones: named presets of the MoE core for the brain's regions (hippocampus, amygdala,
// hypothalamus, thalamus, language), the on-disk layout of their experts
// (<root>/<zone>/expert_<i>.safetensors), per-expert save/load, and an ExpertStore that
// loads experts lazily and keeps at most `max_resident` in memory. Leaves out the regions.
//
//   elarin::nn::MoEConfig cfg = elarin::nn::zone_preset("hippocampus").config;
//   elarin::nn::MoECore core(cfg);
//   std::string path = elarin::nn::expert_ckpt_path("state/experts", "hippocampus", 3);
//   elarin::nn::save_expert(*core, 3, path);  // state/experts/hippocampus/expert_3.safetensors
//   elarin::nn::ExpertStore store("state/experts", "hippocampus", cfg, /*max_resident=*/4);
//   elarin::nn::ExpertPtr e = store.get(3);  // read on first use; least recently used evicted
#pragma once

#include <list>
#include <map>
#include <string>
#include <vector>

#include "elarin/nn/moe/moe_core.hpp"

namespace elarin::nn {

struct ZonePreset {
  const char* name;
  const char* summary;
  MoEConfig config;
};

// The zone table (src/nn/moe/zones.cpp); unknown names: UsageError listing the valid ones.
const std::vector<ZonePreset>& zone_table();
const ZonePreset& zone_preset(const std::string& name);

// <root>/<zone>/expert_<i>.safetensors
std::string expert_ckpt_path(const std::string& root, const std::string& zone, int64_t i);

// Writes expert e's tensors atomically with metadata elarin.format_version, elarin.expert_type
// and elarin.expert_spec (d_in, d_out, hidden, channels).
void save_expert(const ExpertImpl& expert, const ExpertSpec& spec, const std::string& path);
void save_expert(MoECoreImpl& core, int64_t e, const std::string& path);
// Reads a file written by save_expert into `expert`: every tensor is checked (names, shapes,
// type) before any is copied, so a bad file leaves the expert as it was (FormatError).
void load_expert(ExpertImpl& expert, const std::string& path);
void load_expert(MoECoreImpl& core, int64_t e, const std::string& path);

class ExpertStore {
 public:
  ExpertStore(std::string root, std::string zone, const MoEConfig& config, int64_t max_resident);
  // The expert i: resident, else loaded from its file, else a fresh one (marked dirty).
  // Evicts the least recently used beyond max_resident, saving it first if dirty.
  ExpertPtr get(int64_t i);
  void mark_dirty(int64_t i);
  void flush();  // saves every dirty resident expert
  int64_t resident_count() const { return static_cast<int64_t>(resident_.size()); }
  bool is_resident(int64_t i) const { return resident_.count(i) > 0; }
  int64_t loads() const { return loads_; }  // files read so far

 private:
  struct Slot {
    ExpertPtr expert;
    bool dirty = false;
  };
  std::string root_, zone_;
  MoEConfig config_;
  int64_t max_resident_;
  std::map<int64_t, Slot> resident_;
  std::list<int64_t> lru_;  // front = most recent
  int64_t loads_ = 0;
};

}  // namespace elarin::nn
