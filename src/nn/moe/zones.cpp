// Zone presets and per-expert files. The presets are starting points chosen by role: a
// fast, many-expert hippocampus; a small, decisive amygdala and hypothalamus; a thalamus
// with hierarchical groups and a strong top-down bias; a language zone with a shared expert
// and aux-loss-free balancing as in DeepSeek-V3.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "elarin/core/checkpoint.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/nn/moe/zones.hpp"

namespace elarin::nn {
namespace {

MoEConfig preset(int64_t count, int64_t top_k, int64_t shared, int64_t groups, double thalamic,
                 const char* balance, int64_t hidden) {
  MoEConfig c;
  c.expert_count = count;
  c.active_experts = count;
  c.top_k = top_k;
  c.shared_experts = shared;
  c.group_count = groups;
  c.thalamic_scale = thalamic;
  c.balance = balance;
  c.expert_hidden = hidden;
  return c;
}

}  // namespace

const std::vector<ZonePreset>& zone_table() {
  static const std::vector<ZonePreset> table = {
      {"hippocampus", "8 small experts, top-2: fast episodic binding",
       preset(8, 2, 0, 1, 0.0, "switch", 128)},
      {"amygdala", "4 experts, top-1, thalamic bias: quick salience calls",
       preset(4, 1, 0, 1, 0.5, "switch", 128)},
      {"hypothalamus", "2 experts, top-1: homeostatic set-points",
       preset(2, 1, 0, 1, 0.0, "none", 64)},
      {"thalamus", "8 experts in 2 groups, strong top-down bias: the router",
       preset(8, 2, 0, 2, 1.0, "switch", 128)},
      {"language", "16 experts, top-2 + 1 shared, aux-loss-free balance",
       preset(16, 2, 1, 1, 0.0, "bias", 256)},
  };
  return table;
}

const ZonePreset& zone_preset(const std::string& name) {
  return find_named(zone_table(), name, "zone");
}

std::string expert_ckpt_path(const std::string& root, const std::string& zone, int64_t i) {
  return (std::filesystem::path(root) / zone / ("expert_" + std::to_string(i) + ".safetensors"))
      .string();
}

void save_expert(const ExpertImpl& expert, const ExpertSpec& spec, const std::string& path) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : expert.named_parameters(true)) tensors[p.key()] = p.value().detach().cpu();
  for (const auto& b : expert.named_buffers(true)) tensors[b.key()] = b.value().detach().cpu();
  nlohmann::json j = {{"d_in", spec.d_in},
                      {"d_out", spec.d_out},
                      {"hidden", spec.hidden},
                      {"channels", spec.channels}};
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  save_safetensors(path, tensors,
                   {{kFormatKey, std::to_string(kCheckpointFormat)},
                    {"elarin.expert_type", expert.type()},
                    {"elarin.expert_spec", j.dump()}});
}

void save_expert(MoECoreImpl& core, int64_t e, const std::string& path) {
  save_expert(*core.expert(e), core.config().expert_spec(), path);
}

void load_expert(ExpertImpl& expert, const std::string& path) {
  auto st = SafeTensors::open(path);
  const auto& meta = st.metadata();
  auto type = meta.find("elarin.expert_type");
  if (type == meta.end())
    throw FormatError("'" + path + "' is not an elarin expert file (no elarin.expert_type)");
  auto version = meta.find(kFormatKey);
  if (version == meta.end() || version->second != std::to_string(kCheckpointFormat))
    throw FormatError("'" + path + "' has expert format " +
                      (version == meta.end() ? std::string("(none)") : version->second) +
                      ", this build reads " + std::to_string(kCheckpointFormat));
  if (type->second != expert.type())
    throw FormatError("'" + path + "' holds a '" + type->second + "' expert, expected '" +
                      expert.type() + "'");
  // Validate everything first, then copy: a bad file leaves the expert untouched.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> plan;
  auto check = [&](const std::string& name, torch::Tensor dst) {
    if (!st.contains(name)) throw FormatError("'" + path + "' lacks tensor '" + name + "'");
    auto src = st.tensor(name);
    if (src.scalar_type() != dst.scalar_type())
      throw FormatError("'" + path + "': tensor '" + name + "' has dtype " +
                        std::string(c10::toString(src.scalar_type())) + ", expected " +
                        std::string(c10::toString(dst.scalar_type())));
    if (src.sizes() != dst.sizes())
      throw FormatError("'" + path + "': tensor '" + name + "' has shape " + c10::str(src.sizes()) +
                        ", expected " + c10::str(dst.sizes()));
    plan.emplace_back(dst, src);
  };
  for (const auto& p : expert.named_parameters(true)) check(p.key(), p.value());
  for (const auto& b : expert.named_buffers(true)) check(b.key(), b.value());
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : plan) dst.copy_(src);
}

void load_expert(MoECoreImpl& core, int64_t e, const std::string& path) {
  load_expert(*core.expert(e), path);
}

ExpertStore::ExpertStore(std::string root, std::string zone, const MoEConfig& config,
                         int64_t max_resident)
    : root_(std::move(root)), zone_(std::move(zone)), config_(config), max_resident_(max_resident) {
  if (max_resident < 1)
    throw UsageError("ExpertStore: max_resident must be >= 1, got " + std::to_string(max_resident));
}

ExpertPtr ExpertStore::get(int64_t i) {
  auto it = resident_.find(i);
  if (it != resident_.end()) {
    lru_.remove(i);
    lru_.push_front(i);
    return it->second.expert;
  }
  Slot slot;
  slot.expert = make_expert(config_.expert_type, config_.expert_spec());
  const auto path = expert_ckpt_path(root_, zone_, i);
  if (std::filesystem::exists(path)) {
    load_expert(*slot.expert, path);
    ++loads_;
  } else {
    slot.dirty = true;  // new: written on eviction or flush
  }
  while (static_cast<int64_t>(resident_.size()) >= max_resident_) {
    const int64_t victim = lru_.back();
    lru_.pop_back();
    auto& v = resident_.at(victim);
    if (v.dirty)
      save_expert(*v.expert, config_.expert_spec(), expert_ckpt_path(root_, zone_, victim));
    resident_.erase(victim);
  }
  resident_[i] = slot;
  lru_.push_front(i);
  return slot.expert;
}

void ExpertStore::mark_dirty(int64_t i) {
  auto it = resident_.find(i);
  if (it != resident_.end()) it->second.dirty = true;
}

void ExpertStore::flush() {
  for (auto& [i, slot] : resident_) {
    if (!slot.dirty) continue;
    save_expert(*slot.expert, config_.expert_spec(), expert_ckpt_path(root_, zone_, i));
    slot.dirty = false;
  }
}

}  // namespace elarin::nn
