// Runtime values of the template engine and the JS-flavoured conversions @huggingface/jinja
// applies to them: printing, tojson, truthiness, ==, ordering, and JSON context import.
// Leaves out operators and filters (interpreter.cpp, filters.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace elarin::jinja {

// A runtime error without a line yet; the interpreter adds origin and line and rethrows it
// as FormatError.
struct Fault {
  std::string message;
};
[[noreturn]] void fault(std::string message);

// raise_exception(message) from the template: rethrown as UsageError.
struct Raised {
  std::string message;
};

enum class Kind {
  Undefined,
  Null,
  Boolean,
  Integer,  // a JS number that came from an integer (printed "3")
  Float,    // a JS number that came from a float (printed "3.0")
  String,
  Array,
  Tuple,      // (a, b): an Array that tojson and `is iterable` refuse, as in the oracle
  Object,     // dicts, loop
  Namespace,  // namespace(...): mutable through {% set ns.x = ... %}
  KwArgs,     // the keyword arguments of a call, passed last
  Function,
};

struct Value;
struct Env;
class Object;
using Array = std::vector<Value>;
// Arguments are the positional values, then one KwArgs value when keywords were given.
using Function = std::function<Value(std::vector<Value>& args, Env* call_site)>;

struct Value {
  Kind kind = Kind::Undefined;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::shared_ptr<const Array> array;
  std::shared_ptr<Object> object;
  std::shared_ptr<const Function> function;

  static Value undefined() { return Value(); }
  static Value null();
  static Value of_bool(bool b);
  static Value integer(double n);
  static Value floating(double n);
  static Value string(std::string s);
  static Value list(Array items, Kind kind = Kind::Array);
  static Value map(std::shared_ptr<Object> object, Kind kind = Kind::Object);
  static Value callable(Function fn);

  bool is_number() const { return kind == Kind::Integer || kind == Kind::Float; }
  bool is_array() const { return kind == Kind::Array || kind == Kind::Tuple; }
  bool is_object() const { return kind == Kind::Object || kind == Kind::KwArgs; }
  // ObjectValue or NamespaceValue: what `.attr`, selectattr and map(attribute=) look into.
  bool is_container() const { return is_object() || kind == Kind::Namespace; }
};

// An insertion-ordered string -> Value map (a JS Map).
class Object {
 public:
  const Value* get(const std::string& key) const;
  void set(const std::string& key, Value value);  // an existing key keeps its place
  bool erase(const std::string& key);
  size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// "string", "list", "dict", ... for messages.
const char* kind_name(Kind kind);

// Python-style truthiness of `{% if x %}`, `and`, `or`, `not` (__bool__): empty list/dict false.
bool truthy(const Value& v);
// JS truthiness of the raw value (`!!x.value`): every list and dict is true.
bool raw_truthy(const Value& v);

// What `{{ v }}` prints (RuntimeValue.toString): floats keep ".0", lists and dicts print as
// JSON, booleans "true"/"false".
std::string to_output(const Value& v);
// String(v.value), what `~` and `+` concatenate: floats lose ".0", a list joins its items
// with ",", a dict is "[object Map]".
std::string raw_string(const Value& v);
// An item of Array.prototype.join: raw_string, but none/undefined are "".
std::string join_piece(const Value& v);

struct JsonOptions {
  int indent = 0;  // 0: one line with ", " and ": "
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool custom_separators = false;
  std::string item_separator, key_separator;
};
// The oracle's toJSON: `undefined_to_null` false prints undefined as "undefined".
std::string to_json(const Value& v, const JsonOptions& options, bool undefined_to_null = true,
                    int depth = 0);

// `a == b` is JS loose equality of the raw values (1 == "1", "" == false, lists by identity).
bool loose_equal(const Value& a, const Value& b);
// `===` of the raw values: `in` for lists, unique, equalto.
bool strict_equal(const Value& a, const Value& b);
// compareRuntimeValues: sort/dictsort order; strings case-insensitive unless asked.
int compare_values(const Value& a, const Value& b, bool case_sensitive);

// A JSON value as JSON.parse + the oracle's convertToRuntimeValues see it: integral numbers
// (even 2.0) are integers, object keys that are array indices come first in ascending order.
Value from_json(const nlohmann::ordered_json& json);

}  // namespace elarin::jinja
