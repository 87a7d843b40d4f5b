// The brain runtime: its schedule, in one process or over the bus (see the header).
#include "elarin/brain/brain.hpp"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "brain/remote_region.hpp"
#include "core/splitmix.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/safetensors.hpp"

namespace elarin::brain {
namespace {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// "name.port" -> {name, port}; the port may not contain dots, the name may not either.
std::pair<std::string, std::string> split_endpoint(const std::string& text,
                                                   const std::string& whole) {
  const auto dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size() ||
      text.find('.', dot + 1) != std::string::npos)
    throw UsageError("brain.connections: '" + whole + "': expected \"region.port -> region.port\"");
  return {text.substr(0, dot), text.substr(dot + 1)};
}

int64_t find_size(const std::vector<PortSpec>& specs, const std::string& port) {
  for (const auto& p : specs)
    if (p.name == port) return p.size;
  return -1;
}

std::string port_names(const std::vector<PortSpec>& specs) {
  std::string s;
  for (const auto& p : specs) s += (s.empty() ? "" : ", ") + p.name;
  return s.empty() ? "none" : s;
}

// VmRSS of a process in KiB, -1 if unknown.
int64_t rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  return -1;
}

constexpr const char* kRegionFormat = "elarin.brain.region/1";

// (dst, src) with orthonormal columns (dst >= src: an isometry) or rows (dst < src).
torch::Tensor fixed_projection(int64_t src, int64_t dst, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto g = torch::randn({std::max(src, dst), std::min(src, dst)}, gen, torch::kDouble);
  auto q = std::get<0>(torch::linalg_qr(g));  // (max, min), orthonormal columns
  return (dst >= src ? q : q.t()).to(torch::kFloat).contiguous();
}

}  // namespace

BrainSetup::BrainSetup(RegionTable table) : table_(std::move(table)) {
  for (const auto& kind : table_) settings_[kind.name] = kind.settings();
}

void BrainSetup::bind(Config& config) {
  config.add("brain", brain);
  for (auto& [name, s] : settings_) s->bind(config, "region." + name);
}

std::string BrainSetup::yaml() const {
  // Binding records the fields' addresses and reads them back; nothing is written.
  Config config;
  const_cast<BrainSetup*>(this)->bind(config);
  return config.to_yaml();
}

std::string BrainSetup::json() const {
  Config config;
  const_cast<BrainSetup*>(this)->bind(config);
  return config.to_json().dump();
}

BrainFacts brain_facts(const BrainConfig& config) {
  BrainFacts f;
  f.vocabulary = config.vocabulary;
  f.seed = static_cast<uint64_t>(config.seed);
  return f;
}

bool same_saved_state(const std::string& a, const std::string& b) {
  const auto fa = SafeTensors::open(a), fb = SafeTensors::open(b);
  auto meta_a = fa.metadata(), meta_b = fb.metadata();
  meta_a.erase(Config::kMetadataKey);
  meta_b.erase(Config::kMetadataKey);
  if (meta_a != meta_b || fa.names() != fb.names()) return false;
  for (const auto& name : fa.names()) {
    const auto ta = fa.tensor(name), tb = fb.tensor(name);
    if (ta.scalar_type() != tb.scalar_type() || !torch::equal(ta, tb)) return false;
  }
  return true;
}

uint64_t region_seed(uint64_t brain_seed, const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the name
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return splitmix64(brain_seed ^ splitmix64(h));
}

const RegionSettings& BrainSetup::settings(const std::string& kind) const {
  find_region_kind(table_, kind);  // the error lists the valid kinds
  return *settings_.at(kind);
}

Connection parse_connection(const std::string& text) {
  const auto arrow = text.find("->");
  if (arrow == std::string::npos)
    throw UsageError("brain.connections: '" + text + "': expected \"region.port -> region.port\"");
  Connection c;
  std::tie(c.src, c.src_port) = split_endpoint(trim(text.substr(0, arrow)), text);
  std::tie(c.dst, c.dst_port) = split_endpoint(trim(text.substr(arrow + 2)), text);
  return c;
}

Brain::Brain(const BrainSetup& setup) : config_(setup.brain) {
  if (config_.regions.empty())
    throw UsageError("brain.regions: empty, expected at least one region");
  check_constraints(config_, "brain");
  for (const auto& d : config_.devices) {
    const auto eq = d.find('=');
    if (eq == std::string::npos || trim(d.substr(eq + 1)) != "cpu")
      throw UsageError("brain.devices: '" + d +
                       "': this build places regions on cpu only (region=cpu)");
  }
  facts_ = brain_facts(config_);
  for (const auto& e : config_.env_ports) {
    const auto eq = e.find('=');
    int64_t size = -1;
    try {
      if (eq != std::string::npos) size = std::stoll(e.substr(eq + 1));
    } catch (const std::exception&) {
    }
    if (eq == std::string::npos || eq == 0 || size <= 0)
      throw UsageError("brain.env_ports: '" + e + "', expected name=size with size > 0");
    env_sizes_[e.substr(0, eq)] = size;
  }
  for (const auto& name : config_.regions) {
    if (name == "env" || regions_.count(name) ||
        std::find(order_.begin(), order_.end(), name) != order_.end())
      throw UsageError("brain.regions: '" + name + "' " +
                       (name == "env" ? "is the world's name" : "is listed twice"));
    const RegionKind& kind = find_region_kind(setup.table(), name);
    if (config_.transport == "inproc") regions_[name] = kind.make(setup.settings(name), facts_);
    order_.push_back(name);
  }
  config_json_ = setup.json();
  try {
    if (config_.transport == "zmq") start_bus(setup);
    wire();
  } catch (...) {
    discard_bus();
    throw;
  }
}

torch::Tensor Brain::carry(const std::string& src, const std::string& src_port,
                           const std::string& dst, const std::string& dst_port,
                           const torch::Tensor& value) const {
  for (const auto& c : connections_) {
    if (c.src != src || c.src_port != src_port || c.dst != dst || c.dst_port != dst_port) continue;
    if (!c.projection.defined()) return value;
    return value.dim() == 1 ? c.projection.mv(value) : value.mm(c.projection.t());
  }
  return value;
}

bool Brain::pretrained_sense(const std::string& region) const {
  const auto j = nlohmann::json::parse(config_json_);
  const auto* r = j.contains("region") && j["region"].contains(region) ? &j["region"][region]
                                                                        : nullptr;
  return r && r->contains("pretrained") && (*r)["pretrained"].is_string() &&
         !(*r)["pretrained"].get<std::string>().empty();
}

void Brain::wire() {
  auto index = [&](const std::string& r) {
    return std::find(order_.begin(), order_.end(), r) - order_.begin();
  };
  std::map<std::string, std::string> fed;  // "dst.port" -> the connection feeding it
  for (const auto& text : config_.connections) {
    Connection c = parse_connection(text);
    int64_t src_size = -1;
    if (c.src == "env") {
      auto it = env_sizes_.find(c.src_port);
      if (it == env_sizes_.end())
        throw UsageError("brain.connections: '" + text + "': the world has no port '" + c.src_port +
                         "' (brain.env_ports)");
      src_size = it->second;
    } else {
      if (!regions_.count(c.src))
        throw UsageError("brain.connections: '" + text + "': '" + c.src +
                         "' is not in brain.regions");
      const auto outs = regions_[c.src]->outputs();
      src_size = find_size(outs, c.src_port);
      if (src_size < 0)
        throw UsageError("brain.connections: '" + text + "': " + c.src + " has no output '" +
                         c.src_port + "' (outputs: " + port_names(outs) + ")");
    }
    if (!regions_.count(c.dst))
      throw UsageError("brain.connections: '" + text + "': '" + c.dst +
                       "' is not in brain.regions");
    const auto ins = regions_[c.dst]->inputs();
    const int64_t dst_size = find_size(ins, c.dst_port);
    if (dst_size < 0)
      throw UsageError("brain.connections: '" + text + "': " + c.dst + " has no input '" +
                       c.dst_port + "' (inputs: " + port_names(ins) + ")");
    if (src_size != dst_size) {
      if (!pretrained_sense(c.src))
        throw UsageError("brain.connections: '" + text + "': sizes differ, " +
                         std::to_string(src_size) + " -> " + std::to_string(dst_size));
      c.projection = fixed_projection(src_size, dst_size, region_seed(config_.seed, text));
      log_info("brain: {} through a fixed random projection ({} -> {})", text, src_size,
               dst_size);
    }
    const std::string key = c.dst + "." + c.dst_port;
    if (fed.count(key))
      throw UsageError("brain.connections: '" + text + "': " + key + " is already fed by '" +
                       fed[key] + "'");
    fed[key] = text;
    c.feedback = c.src != "env" && index(c.src) >= index(c.dst);
    connections_.push_back(c);
  }
  // Levels: a region's is one above the highest of the regions that feed it this tick.
  std::map<std::string, size_t> level;
  for (const auto& name : order_) {
    size_t l = 0;
    for (const auto& c : connections_)
      if (c.dst == name && c.src != "env" && !c.feedback) l = std::max(l, level[c.src] + 1);
    level[name] = l;
    if (levels_.size() <= l) levels_.resize(l + 1);
    levels_[l].push_back(name);
  }
  // The senses: each reads only the world and earlier senses, this tick.
  for (const auto& name : order_) {
    if (std::find(config_.senses.begin(), config_.senses.end(), name) == config_.senses.end())
      continue;
    std::vector<std::string> sources;
    for (const auto& c : connections_) {
      if (c.dst != name) continue;
      if (c.src == "env") {
        sources.push_back("env." + c.src_port);
      } else if (!c.feedback && sensory_sources_.count(c.src)) {
        sources.push_back(c.src);
      } else {
        throw UsageError("brain.senses: '" + name + "' reads " + c.src + "." + c.src_port +
                         ", but a sense may read only the world (env) and earlier senses: "
                         "take it out of brain.senses");
      }
    }
    if (!sources.empty()) sensory_sources_[name] = sources;
  }
}

void Brain::start_bus(const BrainSetup& setup) {
  // Each region process reads the resolved brain.* and region.* keys from a private file.
  std::string dir = (fs::temp_directory_path() / "elarin-bus-XXXXXX").string();
  if (!::mkdtemp(dir.data())) throw Error("brain: cannot create a directory in " + dir);
  bus_dir_ = dir;
  const std::string file = bus_dir_ + "/brain.yaml";
  {
    std::ofstream out(file);
    out << setup.yaml();
    if (!out) throw Error("brain: cannot write " + file);
  }
  BusOptions o;
  o.endpoint = config_.bus;
  o.spawn = config_.spawn_regions;
  o.program = config_.region_program;
  o.program_args = {"--threads", std::to_string(torch::get_num_threads())};
  if (is_quiet()) o.program_args.push_back("-q");
  o.config_file = file;
  o.timeout_s = config_.bus_timeout_s;
  if (o.spawn) log_info("brain: starting {} region processes", order_.size());
  bus_ = std::make_unique<CorpusCallosum>(o, order_);
  log_info("brain: the corpus callosum relays on {}", bus_->endpoint());
  for (const auto& name : order_) regions_[name] = std::make_unique<RemoteRegion>(name, *bus_);
}

void Brain::discard_bus() {
  regions_.clear();
  bus_.reset();  // stops the region processes
  if (!bus_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(bus_dir_, ec);
    bus_dir_.clear();
  }
}

Brain::~Brain() { discard_bus(); }

Region& Brain::region(const std::string& name) {
  auto it = regions_.find(name);
  if (it == regions_.end()) throw UsageError("brain: no region '" + name + "'");
  return *it->second;
}

std::string Brain::state_path(const std::string& name) const {
  return (fs::path(config_.state_dir) / (name + ".safetensors")).string();
}

std::vector<std::string> Brain::load_or_initialise() {
  std::vector<std::string> fresh;
  const std::string counters = state_path("brain");
  if (fs::exists(counters)) {
    auto st = SafeTensors::open(counters);
    if (!st.contains("tick") || !st.contains("temperature"))
      throw FormatError(counters + ": expected tensors 'tick' and 'temperature'");
    tick_ = st.tensor("tick").item<int64_t>();
    temperature_ = st.tensor("temperature").item<double>();
  } else {  // a brain born again (a wipe while it runs) starts its counters anew too
    tick_ = 0;
    temperature_ = 1.0;
    last_.clear();
  }
  for (const auto& name : order_) {
    const auto how = regions_[name]->restore(state_path(name), config_.neurogenesis,
                                             region_seed(facts_.seed, name));
    if (how == Region::Restored::kInitialised) fresh.push_back(name);
  }
  return fresh;
}

TickResult Brain::tick(const Ports& env) {
  for (const auto& [port, value] : env) {
    auto it = env_sizes_.find(port);
    if (it == env_sizes_.end())
      throw UsageError("brain.tick: the world has no port '" + port + "' (brain.env_ports)");
    if (value.dim() != 1 || value.size(0) != it->second || value.scalar_type() != torch::kFloat)
      throw UsageError("brain.tick: env." + port + " is " + c10::str(value.sizes()) +
                       ", expected float32 [" + std::to_string(it->second) + "]");
  }
  TickResult result;
  result.tick = tick_;
  TickContext ctx;
  ctx.tick = tick_;
  ctx.seed = splitmix64(facts_.seed ^ splitmix64(static_cast<uint64_t>(tick_) + 0x51ed));
  ctx.temperature = temperature_;
  // The inputs of region `name`: this tick's outputs of earlier regions, the last tick's
  // of later ones, the world's, zeros where nothing is connected.
  auto inputs_of = [&](const std::string& name) {
    Ports in;
    for (const auto& p : regions_[name]->inputs()) in[p.name] = torch::zeros({p.size});
    for (const auto& c : connections_) {
      if (c.dst != name) continue;
      const Ports* from = nullptr;
      if (c.src == "env")
        from = &env;
      else if (c.feedback)
        from = last_.count(c.src) ? &last_[c.src] : nullptr;
      else
        from = &result.outputs[c.src];
      if (from) {
        auto it = from->find(c.src_port);
        if (it != from->end())
          in[c.dst_port] = c.projection.defined() ? c.projection.mv(it->second) : it->second;
      }
    }
    return in;
  };
  // Sensor load: a sense whose every source is silent (a world port absent this tick, or an
  // idle sense) is not ticked; its outputs are zeros, which the thalamus gates out.
  std::set<std::string> silent;
  for (const auto& name : order_) {  // tick order: an idle sense silences the senses it feeds
    auto it = sensory_sources_.find(name);
    if (it == sensory_sources_.end()) continue;
    const bool quiet = std::all_of(it->second.begin(), it->second.end(), [&](const auto& s) {
      return s.rfind("env.", 0) == 0 ? !env.count(s.substr(4)) : silent.count(s) > 0;
    });
    if (!quiet) continue;
    silent.insert(name);
    Ports zeros;
    for (const auto& p : regions_[name]->outputs()) zeros[p.name] = torch::zeros({p.size});
    result.outputs[name] = std::move(zeros);
  }
  if (!bus_) {
    for (const auto& name : order_) {
      if (silent.count(name)) continue;
      Region& r = *regions_[name];
      Ports out = r.tick(ctx, inputs_of(name));
      check_ports(name, r.outputs(), out);
      result.outputs[name] = std::move(out);
    }
  } else {
    // Over the bus, the regions of one level (none feeds another this tick) work at once.
    // Each computes exactly what it would in turn, so the outputs are the same.
    for (const auto& level : levels_) {
      std::vector<std::pair<std::string, int64_t>> started;
      for (const auto& name : level)
        if (!silent.count(name))
          started.emplace_back(
              name, static_cast<RemoteRegion&>(*regions_[name]).start_tick(ctx, inputs_of(name)));
      for (const auto& [name, id] : started) {
        auto& r = static_cast<RemoteRegion&>(*regions_[name]);
        Ports out = r.finish_tick(id);
        check_ports(name, r.outputs(), out);
        result.outputs[name] = std::move(out);
      }
    }
  }
  last_ = result.outputs;
  ++tick_;
  return result;
}

Neuromodulators Brain::feedback(double reward, bool treat, double delay_s) {
  Neuromodulators mods;
  mods.tick = tick_ - 1;
  mods.reward = reward;
  mods.dopamine = reward;
  mods.temperature = temperature_;
  mods.treat = treat;
  for (const auto& name : order_)
    if (regions_[name]->modulates()) {
      mods = regions_[name]->neuromodulate(tick_ - 1, reward, treat);
      break;
    }
  mods.delay_s = delay_s;
  temperature_ = mods.temperature;
  for (const auto& name : order_) regions_[name]->learn(mods);
  return mods;
}

void Brain::save() const {
  fs::create_directories(config_.state_dir);
  const std::map<std::string, std::string> meta = {{"format", kRegionFormat},
                                                   {"brain.tick", std::to_string(tick_)},
                                                   {Config::kMetadataKey, config_json_}};
  for (const auto& name : order_) {
    auto m = meta;
    m["region"] = name;
    regions_.at(name)->persist(state_path(name), m);
  }
  save_safetensors(state_path("brain"),
                   {{"tick", torch::tensor(std::vector<int64_t>{tick_})},
                    {"temperature", torch::tensor(std::vector<double>{temperature_})}},
                   meta);
  if (!config_.gpu_debug) return;
  // One line per region at every save: where it runs, its saved state's bytes, and the
  // resident memory of the process that holds it (its own over ZeroMQ). This build places
  // every region on the cpu; a CUDA build adds the device's allocator figures here.
  const fs::path path = "logs/GPU_debug.log";
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::app);
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  for (const auto& name : order_) {
    const std::string file = state_path(name);
    std::error_code ec;
    const auto bytes = fs::exists(file) ? fs::file_size(file, ec) : 0;
    const int pid =
        bus_ ? static_cast<const CorpusCallosum&>(*bus_).pid(name) : static_cast<int>(::getpid());
    out << when << " tick=" << tick_ << " region=" << name << " device=cpu state_bytes=" << bytes
        << " pid=" << pid << " rss_kib=" << rss_kib(pid) << "\n";
  }
  if (!out) log_warn("brain.gpu_debug: cannot write {}", path.string());
}

}  // namespace elarin::brain
