// Config binding, declared constraints, key aliases, YAML parsing with validate-then-commit,
// overrides and resolved output.
#include "elarin/core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"

namespace elarin {

// --- constraints ---------------------------------------------------------------------------

namespace {

// 1, 0.5, 1e-05: the shortest text that reads back as the same double.
std::string number_text(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string text;
  for (int digits = 1; digits <= 17; ++digits) {
    std::ostringstream out;
    out.precision(digits);
    out << v;
    text = out.str();
    if (std::stod(text) == v) break;
  }
  return text;
}

}  // namespace

Constraint Constraint::interval(double lo, double hi, bool lo_open, bool hi_open) {
  Constraint c;
  c.kind_ = Kind::kInterval;
  c.lo_ = lo, c.hi_ = hi, c.lo_open_ = lo_open, c.hi_open_ = hi_open;
  return c;
}

Constraint Constraint::choices(std::vector<std::string> allowed) {
  Constraint c;
  c.kind_ = Kind::kChoices;
  c.allowed_ = std::move(allowed);
  return c;
}

Constraint Constraint::open_low() const {
  Constraint c = *this;
  c.lo_open_ = true;
  return c;
}

Constraint Constraint::open_high() const {
  Constraint c = *this;
  c.hi_open_ = true;
  return c;
}

std::string Constraint::text() const {
  if (kind_ == Kind::kChoices) {
    std::string s = "one of ";
    for (size_t i = 0; i < allowed_.size(); ++i) s += (i ? ", " : "") + allowed_[i];
    return s;
  }
  if (kind_ != Kind::kInterval) return "";
  const bool has_lo = !std::isinf(lo_), has_hi = !std::isinf(hi_);
  if (has_lo && !has_hi) return (lo_open_ ? "> " : ">= ") + number_text(lo_);
  if (!has_lo && has_hi) return (hi_open_ ? "< " : "<= ") + number_text(hi_);
  return std::string("in ") + (lo_open_ ? "(" : "[") + number_text(lo_) + ", " + number_text(hi_) +
         (hi_open_ ? ")" : "]");
}

bool Constraint::allows(double v) const {
  if (kind_ != Kind::kInterval) return true;
  if (std::isnan(v)) return false;
  if (lo_open_ ? !(v > lo_) : !(v >= lo_)) return false;
  if (hi_open_ ? !(v < hi_) : !(v <= hi_)) return false;
  return true;
}

bool Constraint::allows(const std::string& v) const {
  if (kind_ != Kind::kChoices) return true;
  return std::find(allowed_.begin(), allowed_.end(), v) != allowed_.end();
}

Constraint at_least(double lo) {
  return Constraint::interval(lo, std::numeric_limits<double>::infinity(), false, false);
}
Constraint greater_than(double lo) {
  return Constraint::interval(lo, std::numeric_limits<double>::infinity(), true, false);
}
Constraint at_most(double hi) {
  return Constraint::interval(-std::numeric_limits<double>::infinity(), hi, false, false);
}
Constraint in_range(double lo, double hi) { return Constraint::interval(lo, hi, false, false); }
Constraint one_of(std::vector<std::string> allowed) {
  return Constraint::choices(std::move(allowed));
}

namespace {

std::string expected(const Constraint& c) { return ", expected " + c.text(); }

template <class N>
std::string number_violation(const Constraint& c, N value) {
  if (c.allows(static_cast<double>(value))) return "";
  return "got " + number_text(static_cast<double>(value)) + expected(c);
}

template <class E, class F>
std::string list_violation(const Constraint& c, const std::vector<E>& values, F text) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!c.allows(values[i]))
      return "got " + text(values[i]) + " (item " + std::to_string(i + 1) + ")" + expected(c);
  return "";
}

}  // namespace

std::string constraint_violation(const Constraint&, bool) { return ""; }
std::string constraint_violation(const Constraint& c, int v) { return number_violation(c, v); }
std::string constraint_violation(const Constraint& c, int64_t v) { return number_violation(c, v); }
std::string constraint_violation(const Constraint& c, double v) { return number_violation(c, v); }
std::string constraint_violation(const Constraint& c, const std::string& v) {
  return c.allows(v) ? "" : "got '" + v + "'" + expected(c);
}
std::string constraint_violation(const Constraint& c, const std::vector<int64_t>& v) {
  return list_violation(c, v, [](int64_t x) { return number_text(static_cast<double>(x)); });
}
std::string constraint_violation(const Constraint& c, const std::vector<double>& v) {
  return list_violation(c, v, [](double x) { return number_text(x); });
}
std::string constraint_violation(const Constraint& c, const std::vector<std::string>& v) {
  return list_violation(c, v, [](const std::string& x) { return "'" + x + "'"; });
}

void throw_constraint_error(const std::string& key, const std::string& violation) {
  throw UsageError(key + ": " + violation);
}

// --- fields and parsing --------------------------------------------------------------------

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
  Constraint constraint;
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
    const std::string violation = constraint_violation(constraint, parsed);
    if (!violation.empty()) {
      // --set names the key itself; a file is named after the message.
      throw UsageError(key + ": " + violation +
                       (origin.rfind("--set", 0) == 0 ? "" : " (in " + origin + ")"));
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
void Config::bind(const std::string& key, T* field, const std::string& help,
                  const Constraint& constraint) {
  // A default that breaks its own constraint is a programming error, caught at bind.
  const std::string violation = constraint_violation(constraint, *field);
  if (!violation.empty()) throw Error("config key '" + key + "': default " + violation);
  auto f = std::make_unique<TypedField<T>>();
  f->key = key;
  f->help = help;
  f->constraint = constraint;
  f->target = field;
  add_field(std::move(f));
}

template void Config::bind<bool>(const std::string&, bool*, const std::string&, const Constraint&);
template void Config::bind<int>(const std::string&, int*, const std::string&, const Constraint&);
template void Config::bind<int64_t>(const std::string&, int64_t*, const std::string&,
                                    const Constraint&);
template void Config::bind<double>(const std::string&, double*, const std::string&,
                                   const Constraint&);
template void Config::bind<std::string>(const std::string&, std::string*, const std::string&,
                                        const Constraint&);
template void Config::bind<std::vector<int64_t>>(const std::string&, std::vector<int64_t>*,
                                                 const std::string&, const Constraint&);
template void Config::bind<std::vector<double>>(const std::string&, std::vector<double>*,
                                                const std::string&, const Constraint&);
template void Config::bind<std::vector<std::string>>(const std::string&, std::vector<std::string>*,
                                                     const std::string&, const Constraint&);

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

void Config::alias(const std::string& old_key, const std::string& new_key) {
  if (!fields_.count(new_key))
    throw Error("config alias '" + old_key + "' names '" + new_key + "', which is not bound");
  if (fields_.count(old_key)) throw Error("config alias '" + old_key + "' is still a key");
  aliases_[old_key] = new_key;
}

const Config::Field& Config::field_of(const std::string& key, const std::string& origin) const {
  auto it = fields_.find(key);
  if (it != fields_.end()) return *it->second;
  auto renamed = aliases_.find(key);
  if (renamed == aliases_.end()) throw unknown_key(key, origin);
  // Once per old key and process: a command may load its config more than once.
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mutex);
  if (warned.insert(key).second)
    log_warn("{}: '{}' is deprecated, the key is now '{}'", origin, key, renamed->second);
  return *fields_.at(renamed->second);
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
  for (const auto& [key, node] : items)
    commits.push_back(field_of(key, origin).parse(node, origin));
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
    for (const auto& [key, node] : items)
      commits.push_back(field_of(key, "--set " + a).parse(node, "--set " + a));
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

std::string Config::constraint(const std::string& key) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) throw UsageError("unknown config key '" + key + "'");
  return it->second->constraint.text();
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
