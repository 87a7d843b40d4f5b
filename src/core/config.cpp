// Config binding, YAML parsing with validate-then-commit, overrides and resolved output.
#include "elarin/core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

std::string describe(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

// Levenshtein distance, for "did you mean" hints on unknown keys.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Typed scalar parsing. yaml-cpp's as<T> accepts "1.5" for int by failing, which we want,
// but also accepts "yes" for bool; we allow only true/false.
template <class T>
bool parse_scalar(const YAML::Node& node, T* out);

template <>
bool parse_scalar<bool>(const YAML::Node& node, bool* out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (s == "true" || s == "True") return *out = true, true;
  if (s == "false" || s == "False") return *out = false, true;
  return false;
}

template <class I>
bool parse_integer(const YAML::Node& node, I* out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (s.empty()) return false;
  size_t pos = 0;
  try {
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size()) return false;
    if (v < static_cast<long long>(std::numeric_limits<I>::min()) ||
        v > static_cast<long long>(std::numeric_limits<I>::max())) {
      return false;
    }
    *out = static_cast<I>(v);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

template <>
bool parse_scalar<int>(const YAML::Node& node, int* out) {
  return parse_integer(node, out);
}
template <>
bool parse_scalar<int64_t>(const YAML::Node& node, int64_t* out) {
  return parse_integer(node, out);
}

template <>
bool parse_scalar<double>(const YAML::Node& node, double* out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (s.empty()) return false;
  size_t pos = 0;
  try {
    double v = std::stod(s, &pos);
    if (pos != s.size()) return false;
    *out = v;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

template <>
bool parse_scalar<std::string>(const YAML::Node& node, std::string* out) {
  if (!node.IsScalar()) return false;
  *out = node.Scalar();
  return true;
}

template <class T>
bool parse_value(const YAML::Node& node, T* out) {
  return parse_scalar(node, out);
}

template <class E>
bool parse_value(const YAML::Node& node, std::vector<E>* out) {
  if (!node.IsSequence()) return false;
  std::vector<E> v;
  for (const auto& item : node) {
    E e{};
    if (!parse_scalar(item, &e)) return false;
    v.push_back(e);
  }
  *out = std::move(v);
  return true;
}

template <class T>
const char* type_name();
template <>
const char* type_name<bool>() {
  return "true or false";
}
template <>
const char* type_name<int>() {
  return "an integer";
}
template <>
const char* type_name<int64_t>() {
  return "an integer";
}
template <>
const char* type_name<double>() {
  return "a number";
}
template <>
const char* type_name<std::string>() {
  return "a string";
}
template <>
const char* type_name<std::vector<int64_t>>() {
  return "a list of integers";
}
template <>
const char* type_name<std::vector<double>>() {
  return "a list of numbers";
}
template <>
const char* type_name<std::vector<std::string>>() {
  return "a list of strings";
}

}  // namespace

struct Config::Field {
  std::string key;
  std::string help;
  virtual ~Field() = default;
  // Parses `node`; returns the function that commits the parsed value, or throws.
  virtual std::function<void()> parse(const YAML::Node& node, const std::string& origin) const = 0;
  virtual nlohmann::json value() const = 0;
};

namespace {

template <class T>
struct TypedField : Config::Field {
  T* target = nullptr;
  std::function<void()> parse(const YAML::Node& node, const std::string& origin) const override {
    T parsed{};
    if (!parse_value(node, &parsed)) {
      throw UsageError(origin + ": key '" + key + "': expected " + type_name<T>() + ", got " +
                       describe(node));
    }
    T* dst = target;
    return [dst, parsed]() { *dst = parsed; };
  }
  nlohmann::json value() const override { return nlohmann::json(*target); }
};

// Flattens a YAML mapping into dotted keys; leaves are scalars or sequences.
void flatten(const YAML::Node& node, const std::string& prefix,
             std::vector<std::pair<std::string, YAML::Node>>* out, const std::string& origin) {
  for (const auto& kv : node) {
    std::string name = kv.first.as<std::string>();
    std::string key = prefix.empty() ? name : prefix + "." + name;
    if (kv.second.IsMap()) {
      flatten(kv.second, key, out, origin);
    } else {
      out->emplace_back(key, kv.second);
    }
  }
}

}  // namespace

Config::Config() = default;
Config::~Config() = default;

template <class T>
void Config::bind(const std::string& key, T* field, const std::string& help) {
  auto f = std::make_unique<TypedField<T>>();
  f->key = key;
  f->help = help;
  f->target = field;
  add_field(std::move(f));
}

template void Config::bind<bool>(const std::string&, bool*, const std::string&);
template void Config::bind<int>(const std::string&, int*, const std::string&);
template void Config::bind<int64_t>(const std::string&, int64_t*, const std::string&);
template void Config::bind<double>(const std::string&, double*, const std::string&);
template void Config::bind<std::string>(const std::string&, std::string*, const std::string&);
template void Config::bind<std::vector<int64_t>>(const std::string&, std::vector<int64_t>*,
                                                 const std::string&);
template void Config::bind<std::vector<double>>(const std::string&, std::vector<double>*,
                                                const std::string&);
template void Config::bind<std::vector<std::string>>(const std::string&, std::vector<std::string>*,
                                                     const std::string&);

void Config::add_field(std::unique_ptr<Field> field) {
  const std::string key = field->key;
  if (fields_.count(key)) throw Error("config key '" + key + "' is bound twice");
  // A key cannot be both a leaf and a section ("a" and "a.b").
  for (const auto& [k, f] : fields_) {
    if (k.rfind(key + ".", 0) == 0 || key.rfind(k + ".", 0) == 0) {
      throw Error("config key '" + key + "' clashes with '" + k + "'");
    }
  }
  fields_.emplace(key, std::move(field));
}

UsageError Config::unknown_key(const std::string& key, const std::string& origin) const {
  std::string best;
  size_t best_d = 4;  // suggest only close matches
  for (const auto& kv : fields_) {
    size_t d = edit_distance(key, kv.first);
    if (d < best_d) best_d = d, best = kv.first;
  }
  return UsageError(origin + ": unknown key '" + key + "'" +
                    (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                    "; `elarin config --keys` lists the valid keys");
}

void Config::apply(const YAML::Node& root, const std::string& origin) {
  if (!root || root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap()) {
    throw UsageError(origin + ": expected a mapping of keys at the top level, got " +
                     describe(root));
  }
  std::vector<std::pair<std::string, YAML::Node>> items;
  flatten(root, "", &items, origin);
  std::vector<std::function<void()>> commits;
  for (const auto& [key, node] : items) {
    auto it = fields_.find(key);
    if (it == fields_.end()) throw unknown_key(key, origin);
    commits.push_back(it->second->parse(node, origin));
  }
  for (auto& c : commits) c();
}

void Config::load_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error("cannot read config '" + path + "'");
  } catch (const YAML::Exception& e) {
    throw UsageError(path + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                     e.msg);
  }
  apply(root, path);
}

void Config::load_string(const std::string& yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw UsageError(origin + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                     e.msg);
  }
  apply(root, origin);
}

namespace {

// "a.b=c" -> YAML mapping {a: {b: c}} with the value parsed as YAML.
YAML::Node assignment_node(const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError("--set: expected key=value, got '" + assignment + "'");
  }
  std::string key = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception&) {
    value = YAML::Node(text);  // not YAML: take it as a plain string
  }
  if (text.empty()) value = YAML::Node(std::string());
  if (value.IsMap()) value = YAML::Node(text);  // "a: b" as a value means the string
  YAML::Node root(YAML::NodeType::Map);
  YAML::Node cur = root;
  std::stringstream parts(key);
  std::string part;
  std::vector<std::string> names;
  while (std::getline(parts, part, '.')) {
    if (part.empty()) throw UsageError("--set: empty part in key '" + key + "'");
    names.push_back(part);
  }
  // Build nested maps from the innermost outwards.
  YAML::Node node = value;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    YAML::Node parent(YAML::NodeType::Map);
    parent[*it] = node;
    node = parent;
  }
  return node;
}

}  // namespace

void Config::set(const std::string& assignment) { set_all({assignment}); }

void Config::set_all(const std::vector<std::string>& assignments) {
  std::vector<std::function<void()>> commits;
  for (const auto& a : assignments) {
    YAML::Node root = assignment_node(a);
    std::vector<std::pair<std::string, YAML::Node>> items;
    flatten(root, "", &items, "--set");
    for (const auto& [key, node] : items) {
      auto it = fields_.find(key);
      if (it == fields_.end()) throw unknown_key(key, "--set " + a);
      commits.push_back(it->second->parse(node, "--set " + a));
    }
  }
  for (auto& c : commits) c();
}

bool Config::has(const std::string& key) const { return fields_.count(key) > 0; }

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : fields_) out.push_back(kv.first);
  return out;
}

std::string Config::help(const std::string& key) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) throw UsageError("unknown config key '" + key + "'");
  return it->second->help;
}

nlohmann::json Config::to_json() const {
  nlohmann::json root = nlohmann::json::object();
  for (const auto& [key, field] : fields_) {
    nlohmann::json::json_pointer ptr("/" + [&] {
      std::string p = key;
      std::replace(p.begin(), p.end(), '.', '/');
      return p;
    }());
    root[ptr] = field->value();
  }
  return root;
}

namespace {

YAML::Node json_to_yaml(const nlohmann::json& j) {
  if (j.is_object()) {
    YAML::Node n(YAML::NodeType::Map);
    for (auto it = j.begin(); it != j.end(); ++it) n[it.key()] = json_to_yaml(it.value());
    return n;
  }
  if (j.is_array()) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const auto& e : j) n.push_back(json_to_yaml(e));
    n.SetStyle(YAML::EmitterStyle::Flow);
    return n;
  }
  if (j.is_string()) return YAML::Node(j.get<std::string>());
  if (j.is_boolean()) return YAML::Node(j.get<bool>());
  if (j.is_number_integer()) return YAML::Node(j.get<int64_t>());
  if (j.is_number()) return YAML::Node(j.get<double>());
  return YAML::Node();
}

}  // namespace

std::string Config::to_yaml() const {
  YAML::Emitter out;
  out << json_to_yaml(to_json());
  return std::string(out.c_str()) + "\n";
}

}  // namespace elarin
