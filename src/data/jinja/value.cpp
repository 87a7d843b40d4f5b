// Runtime values: construction, printing, tojson, equality, ordering and JSON import with the
// oracle's JavaScript semantics. Leaves out operators and filters.
#include "data/jinja/value.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/jinja/js_string.hpp"

namespace elarin::jinja {

void fault(std::string message) { throw Fault{std::move(message)}; }

Value Value::null() {
  Value v;
  v.kind = Kind::Null;
  return v;
}
Value Value::of_bool(bool b) {
  Value v;
  v.kind = Kind::Boolean;
  v.boolean = b;
  return v;
}
Value Value::integer(double n) {
  Value v;
  v.kind = Kind::Integer;
  v.number = n;
  return v;
}
Value Value::floating(double n) {
  Value v;
  v.kind = Kind::Float;
  v.number = n;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.text = std::move(s);
  return v;
}
Value Value::list(Array items, Kind kind) {
  Value v;
  v.kind = kind;
  v.array = std::make_shared<const Array>(std::move(items));
  return v;
}
Value Value::map(std::shared_ptr<Object> object, Kind kind) {
  Value v;
  v.kind = kind;
  v.object = std::move(object);
  return v;
}
Value Value::callable(Function fn) {
  Value v;
  v.kind = Kind::Function;
  v.function = std::make_shared<const Function>(std::move(fn));
  return v;
}

const Value* Object::get(const std::string& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void Object::set(const std::string& key, Value value) {
  const auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(key, std::move(value));
}

bool Object::erase(const std::string& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return false;
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
  return true;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Undefined:
      return "undefined";
    case Kind::Null:
      return "none";
    case Kind::Boolean:
      return "boolean";
    case Kind::Integer:
      return "integer";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "string";
    case Kind::Array:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Object:
      return "dict";
    case Kind::Namespace:
      return "namespace";
    case Kind::KwArgs:
      return "keyword arguments";
    case Kind::Function:
      return "function";
  }
  return "value";
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Array:
    case Kind::Tuple:
      return !v.array->empty();
    case Kind::Object:
    case Kind::KwArgs:
      return v.object->size() > 0;
    default:
      return raw_truthy(v);
  }
}

bool raw_truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null:
      return false;
    case Kind::Boolean:
      return v.boolean;
    case Kind::Integer:
    case Kind::Float:
      return v.number != 0 && !std::isnan(v.number);
    case Kind::String:
      return !v.text.empty();
    default:
      return true;
  }
}

std::string to_output(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null:
      return "undefined";
    case Kind::Boolean:
      return v.boolean ? "true" : "false";
    case Kind::Integer:
      return js_number_to_string(v.number);
    case Kind::Float:
      return js_float_to_string(v.number);
    case Kind::String:
      return v.text;
    case Kind::Array:
    case Kind::Object:
    case Kind::Namespace:
      return to_json(v, JsonOptions{}, false);
    default:
      fault(std::string("cannot print a ") + kind_name(v.kind));
  }
}

std::string raw_string(const Value& v) {
  switch (v.kind) {
    case Kind::Integer:
    case Kind::Float:
      return js_number_to_string(v.number);
    case Kind::Array:
    case Kind::Tuple: {
      std::string out;
      for (size_t i = 0; i < v.array->size(); ++i) {
        if (i > 0) out += ',';
        out += to_output((*v.array)[i]);
      }
      return out;
    }
    case Kind::Object:
    case Kind::Namespace:
    case Kind::KwArgs:
      return "[object Map]";
    case Kind::Function:
      fault("cannot convert a function to a string");
    default:
      return to_output(v);
  }
}

std::string join_piece(const Value& v) {
  return v.kind == Kind::Null || v.kind == Kind::Undefined ? "" : raw_string(v);
}

namespace {

// An approximation of Intl collation (String.prototype.localeCompare in en-US) for sort_keys:
// ICU's order of ASCII punctuation, digits, then letters case-insensitively with lower case
// first; other characters by code point after ASCII.
const char* kAsciiCollation =
    "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwW"
    "xXyYzZ";

int primary_weight(char32_t cp) {
  if (cp < 0x80) {
    if (cp <= ' ') return static_cast<int>(cp);
    const char* hit = std::strchr(kAsciiCollation, static_cast<int>(cp));
    if (hit != nullptr && cp != 0) {
      const int pos = static_cast<int>(hit - kAsciiCollation);
      const bool letter = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
      return 64 + (letter ? pos - (pos - 42) % 2 : pos);
    }
    return 63;
  }
  return 1000 + static_cast<int>(cp);
}

int locale_compare(const std::string& a, const std::string& b) {
  const std::vector<char32_t> x = to_code_points(a), y = to_code_points(b);
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    const int wx = primary_weight(x[i]), wy = primary_weight(y[i]);
    if (wx != wy) return wx < wy ? -1 : 1;
  }
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  for (size_t i = 0; i < x.size(); ++i) {
    const bool ux = x[i] >= 'A' && x[i] <= 'Z', uy = y[i] >= 'A' && y[i] <= 'Z';
    if (ux != uy) return ux ? 1 : -1;
  }
  return 0;
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options, bool undefined_to_null, int depth) {
  std::string item_sep, key_sep;
  if (options.custom_separators) {
    item_sep = options.item_separator;
    key_sep = options.key_separator;
  } else {
    item_sep = options.indent > 0 ? "," : ", ";
    key_sep = ": ";
  }
  switch (v.kind) {
    case Kind::Null:
      return "null";
    case Kind::Undefined:
      return undefined_to_null ? "null" : "undefined";
    case Kind::Integer:
    case Kind::Float:
      return js_number_to_json(v.number);
    case Kind::Boolean:
      return v.boolean ? "true" : "false";
    case Kind::String: {
      std::string quoted = json_quote(v.text);
      return options.ensure_ascii ? ascii_escape(quoted) : quoted;
    }
    case Kind::Array:
    case Kind::Object:
    case Kind::Namespace: {
      const std::string unit(static_cast<size_t>(options.indent), ' ');
      std::string base = "\n";
      for (int i = 0; i < depth; ++i) base += unit;
      const std::string child = base + unit;
      std::vector<std::string> core;
      if (v.kind == Kind::Array) {
        for (const Value& item : *v.array) {
          core.push_back(to_json(item, options, undefined_to_null, depth + 1));
        }
      } else {
        std::vector<const std::pair<std::string, Value>*> entries;
        for (const auto& e : v.object->entries()) entries.push_back(&e);
        if (options.sort_keys) {
          std::stable_sort(entries.begin(), entries.end(), [](const auto* x, const auto* y) {
            return locale_compare(x->first, y->first) < 0;
          });
        }
        for (const auto* e : entries) {
          std::string key = json_quote(e->first);
          if (options.ensure_ascii) key = ascii_escape(key);
          std::string item =
              key + key_sep + to_json(e->second, options, undefined_to_null, depth + 1);
          core.push_back(options.indent > 0 ? child + item : item);
        }
      }
      const char open = v.kind == Kind::Array ? '[' : '{';
      const char close = v.kind == Kind::Array ? ']' : '}';
      std::string out(1, open);
      const bool pretty = options.indent > 0 && !core.empty();
      const std::string sep = v.kind == Kind::Array && pretty ? item_sep + child : item_sep;
      if (pretty && v.kind == Kind::Array) out += child;
      for (size_t i = 0; i < core.size(); ++i) {
        if (i > 0) out += sep;
        out += core[i];
      }
      if (pretty) out += base;
      return out + close;
    }
    default:
      fault(std::string("cannot convert a ") + kind_name(v.kind) + " to JSON");
  }
}

namespace {

enum class Raw { Undefined, Number, String, Boolean, Reference };

Raw raw_kind(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null:
      return Raw::Undefined;
    case Kind::Integer:
    case Kind::Float:
      return Raw::Number;
    case Kind::String:
      return Raw::String;
    case Kind::Boolean:
      return Raw::Boolean;
    default:
      return Raw::Reference;
  }
}

const void* identity(const Value& v) {
  if (v.array) return v.array.get();
  if (v.object) return v.object.get();
  return v.function.get();
}

bool same_raw(const Value& a, const Value& b) {
  switch (raw_kind(a)) {
    case Raw::Undefined:
      return true;
    case Raw::Number:
      return a.number == b.number;
    case Raw::String:
      return a.text == b.text;
    case Raw::Boolean:
      return a.boolean == b.boolean;
    case Raw::Reference:
      return identity(a) == identity(b);
  }
  return false;
}

}  // namespace

bool loose_equal(const Value& a, const Value& b) {
  const Raw ra = raw_kind(a), rb = raw_kind(b);
  if (ra == rb) return same_raw(a, b);
  if (ra == Raw::Undefined || rb == Raw::Undefined) return false;
  if (ra == Raw::Boolean) return loose_equal(Value::integer(a.boolean ? 1 : 0), b);
  if (rb == Raw::Boolean) return loose_equal(a, Value::integer(b.boolean ? 1 : 0));
  if (ra == Raw::Number && rb == Raw::String) return a.number == js_string_to_number(b.text);
  if (ra == Raw::String && rb == Raw::Number) return js_string_to_number(a.text) == b.number;
  if (ra == Raw::Reference) return loose_equal(Value::string(raw_string(a)), b);
  return loose_equal(a, Value::string(raw_string(b)));
}

bool strict_equal(const Value& a, const Value& b) {
  return raw_kind(a) == raw_kind(b) && same_raw(a, b);
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  const auto cannot = [&]() {
    fault(std::string("cannot compare ") + kind_name(a.kind) + " with " + kind_name(b.kind));
  };
  if (a.kind == Kind::Null && b.kind == Kind::Null) return 0;
  if (a.kind == Kind::Null || b.kind == Kind::Null) cannot();
  if (a.kind == Kind::Undefined && b.kind == Kind::Undefined) return 0;
  if (a.kind == Kind::Undefined || b.kind == Kind::Undefined) cannot();
  const auto numeric = [](const Value& v) { return v.is_number() || v.kind == Kind::Boolean; };
  if (numeric(a) && numeric(b)) {
    const double x = a.kind == Kind::Boolean ? (a.boolean ? 1 : 0) : a.number;
    const double y = b.kind == Kind::Boolean ? (b.boolean ? 1 : 0) : b.number;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind != b.kind || a.kind != Kind::String) cannot();
  if (case_sensitive) return utf16_compare(a.text, b.text);
  return utf16_compare(to_lower(a.text), to_lower(b.text));
}

namespace {

// A canonical array index ("0", "17", never "007" or "4294967295"): JS objects list these
// keys first, in numeric order.
bool is_array_index(const std::string& key, uint64_t* value) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *value = v;
  return v < 4294967295ULL;
}

}  // namespace

Value from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
      return Value::null();
    case nlohmann::json::value_t::boolean:
      return Value::of_bool(json.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value::integer(static_cast<double>(json.get<int64_t>()));
    case nlohmann::json::value_t::number_unsigned:
      return Value::integer(static_cast<double>(json.get<uint64_t>()));
    case nlohmann::json::value_t::number_float: {
      const double d = json.get<double>();
      return std::isfinite(d) && std::trunc(d) == d ? Value::integer(d) : Value::floating(d);
    }
    case nlohmann::json::value_t::string:
      return Value::string(json.get<std::string>());
    case nlohmann::json::value_t::array: {
      Array items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(from_json(item));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      auto object = std::make_shared<Object>();
      std::vector<std::pair<uint64_t, const std::string*>> indices;
      for (auto it = json.begin(); it != json.end(); ++it) {
        uint64_t index;
        if (is_array_index(it.key(), &index)) indices.emplace_back(index, &it.key());
      }
      std::sort(indices.begin(), indices.end());
      for (const auto& [index, key] : indices) object->set(*key, from_json(json.at(*key)));
      for (auto it = json.begin(); it != json.end(); ++it) {
        if (object->get(it.key()) == nullptr) object->set(it.key(), from_json(it.value()));
      }
      return Value::map(object);
    }
    default:
      fault("the context holds a JSON value of an unsupported type (binary)");
  }
}

}  // namespace elarin::jinja
