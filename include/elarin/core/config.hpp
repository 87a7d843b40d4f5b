// Config: one struct with defaults per concern, bound by dotted keys, filled from YAML
// files and `--set key=value` overrides. Unknown keys and bad types are errors naming the
// key and where it came from. Leaves out: environment-variable overrides.
//
//   struct RuntimeConfig {
//     int threads = 0;  // worker threads; 0 = all cores
//     template <class V> void visit(V& v) { v("threads", threads, "worker threads; 0 = all cores");
//     }
//   };
//   RuntimeConfig runtime;
//   elarin::Config cfg;
//   cfg.add("runtime", runtime);             // binds runtime.threads
//   cfg.load_file("configs/default.yaml");   // all or nothing
//   cfg.set("runtime.threads=2");            // --set
//   std::cerr << cfg.to_yaml();              // the resolved config
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace elarin {

class UsageError;

class Config {
 public:
  Config();
  ~Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  // Binds one field. Supported types: bool, int, int64_t, double, std::string,
  // std::vector<int64_t>, std::vector<double>, std::vector<std::string>.
  template <class T>
  void bind(const std::string& key, T* field, const std::string& help);

  // Binds every field a section struct visits, under `prefix.` (empty prefix: top level).
  template <class S>
  void add(const std::string& prefix, S& section) {
    Binder b{*this, prefix.empty() ? std::string() : prefix + "."};
    section.visit(b);
  }

  // Applies a YAML file / text. Validates every key and value first, then commits all
  // of them: on error nothing changes. Errors name the key and the origin.
  void load_file(const std::string& path);
  void load_string(const std::string& yaml, const std::string& origin);
  // Applies one `key=value` override (value parsed as a YAML scalar or flow sequence).
  void set(const std::string& assignment);
  // Applies several overrides, all or nothing.
  void set_all(const std::vector<std::string>& assignments);

  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;           // sorted
  std::string help(const std::string& key) const;  // the one-line comment
  // The resolved config as nested JSON / YAML text (keys split on dots).
  nlohmann::json to_json() const;
  std::string to_yaml() const;
  // Stored in every checkpoint's __metadata__ under this key (JSON text).
  static constexpr const char* kMetadataKey = "elarin.config";

  struct Field;  // one bound key (defined in config.cpp)

 private:
  struct Binder {
    Config& config;
    std::string prefix;
    template <class T>
    void operator()(const std::string& name, T& field, const std::string& help) {
      config.bind(prefix + name, &field, help);
    }
  };
  void apply(const YAML::Node& root, const std::string& origin);
  UsageError unknown_key(const std::string& key, const std::string& origin) const;
  void add_field(std::unique_ptr<Field> field);

  std::map<std::string, std::unique_ptr<Field>> fields_;
};

}  // namespace elarin
