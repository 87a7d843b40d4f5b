// Config: one struct with defaults per concern, bound by dotted keys, filled from YAML
// files and `--set key=value` overrides. A field states its doc string and its constraint
// next to its default; values are checked before anything is committed, with one message
// shape (`region.ifg.input: got 0, expected >= 1`). Unknown keys and bad types are errors
// naming the key and where it came from; renamed keys live on as aliases that warn.
// Leaves out: environment-variable overrides.
//
//   struct TrainSettings {
//     int64_t epochs = 3;
//     double lr = 0.1;
//     std::string optimizer = "sgd";
//     template <class V>
//     void visit(V& v) {
//       v("epochs", epochs, "passes over the data", elarin::at_least(1));
//       v("lr", lr, "learning rate", elarin::greater_than(0));
//       v("optimizer", optimizer, "the update rule", elarin::one_of({"sgd", "adamw"}));
//     }
//   };
//   TrainSettings train;
//   elarin::Config cfg;
//   cfg.add("train", train);               // binds train.epochs, train.lr, train.optimizer
//   cfg.set("train.epochs=5");             // --set; "train.epochs=0" throws UsageError
//   elarin::check_constraints(train, "train");  // the same checks on a struct set in code
//   std::string text = cfg.to_yaml();      // the resolved config
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

// A field's declared constraint: a closed or open interval on numbers (each element of a
// list), or a set of allowed strings. Default-constructed: no constraint.
class Constraint {
 public:
  Constraint() = default;
  static Constraint interval(double lo, double hi, bool lo_open, bool hi_open);
  static Constraint choices(std::vector<std::string> allowed);
  // The interval without its bound: in_range(0, 1).open_low() is (0, 1].
  Constraint open_low() const;
  Constraint open_high() const;

  bool empty() const { return kind_ == Kind::kNone; }
  // What a value must be: ">= 1", "> 0", "in [0, 1]", "one of flat, hnsw, auto"; "" if none.
  std::string text() const;
  bool allows(double value) const;
  bool allows(const std::string& value) const;

 private:
  enum class Kind { kNone, kInterval, kChoices };
  Kind kind_ = Kind::kNone;
  double lo_ = 0, hi_ = 0;
  bool lo_open_ = false, hi_open_ = false;
  std::vector<std::string> allowed_;
};

Constraint at_least(double lo);             // >= lo
Constraint greater_than(double lo);         // > lo
Constraint at_most(double hi);              // <= hi
Constraint in_range(double lo, double hi);  // lo <= v <= hi
Constraint one_of(std::vector<std::string> allowed);

// "got 0, expected >= 1" when `value` breaks `c`, else "". Lists are checked element-wise
// ("got -1 (item 2), ..."); a constraint on a type it cannot judge (bool) never fails.
std::string constraint_violation(const Constraint& c, bool value);
std::string constraint_violation(const Constraint& c, int value);
std::string constraint_violation(const Constraint& c, int64_t value);
std::string constraint_violation(const Constraint& c, double value);
std::string constraint_violation(const Constraint& c, const std::string& value);
std::string constraint_violation(const Constraint& c, const std::vector<int64_t>& value);
std::string constraint_violation(const Constraint& c, const std::vector<double>& value);
std::string constraint_violation(const Constraint& c, const std::vector<std::string>& value);

// Throws UsageError "<prefix>.<key>: got V, expected C" for the first field of `section`
// that breaks its declared constraint: what a constructor calls on settings made in code.
void throw_constraint_error(const std::string& key, const std::string& violation);
namespace detail {
struct ConstraintChecker {
  std::string prefix;
  template <class T>
  void operator()(const std::string& name, T& field, const std::string&,
                  const Constraint& c = Constraint()) {
    if (c.empty()) return;
    const std::string v = constraint_violation(c, field);
    if (!v.empty()) throw_constraint_error(prefix + name, v);
  }
};
}  // namespace detail
template <class S>
void check_constraints(const S& section, const std::string& prefix) {
  detail::ConstraintChecker checker{prefix.empty() ? std::string() : prefix + "."};
  const_cast<S&>(section).visit(checker);  // the checker only reads
}
// The same, returning `section`: for a constructor's initialiser list, so that no member is
// built from a bad value (`: s_(checked(s, "region.ifg")), net_(s.input)`).
template <class S>
const S& checked(const S& section, const std::string& prefix) {
  check_constraints(section, prefix);
  return section;
}

class Config {
 public:
  Config();
  ~Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  // Binds one field. Supported types: bool, int, int64_t, double, std::string,
  // std::vector<int64_t>, std::vector<double>, std::vector<std::string>.
  template <class T>
  void bind(const std::string& key, T* field, const std::string& help,
            const Constraint& constraint = Constraint());

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

  // A renamed key: `old_key` keeps working (files, --set, stored configs) for one release,
  // with a warning naming `new_key`. The renames themselves are one table (AppConfig).
  void alias(const std::string& old_key, const std::string& new_key);

  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;           // sorted
  std::string help(const std::string& key) const;  // the doc string
  std::string constraint(const std::string& key) const;  // e.g. ">= 1"; "" if none
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
    void operator()(const std::string& name, T& field, const std::string& help,
                    const Constraint& constraint = Constraint()) {
      config.bind(prefix + name, &field, help, constraint);
    }
  };
  void apply(const YAML::Node& root, const std::string& origin);
  // The field `key` names, through an alias if it is an old name (warns once per process);
  // throws unknown_key otherwise.
  const Field& field_of(const std::string& key, const std::string& origin) const;
  UsageError unknown_key(const std::string& key, const std::string& origin) const;
  void add_field(std::unique_ptr<Field> field);

  std::map<std::string, std::unique_ptr<Field>> fields_;
  std::map<std::string, std::string> aliases_;  // old key -> new key
};

}  // namespace elarin
