// The oracle's built-in methods (str.split, dict.items, ...), tests (`is defined`, ...) and
// globals (range, namespace, raise_exception, strftime_now). Leaves out filters.
#include <algorithm>
#include <cmath>
#include <ctime>

#include "data/jinja/interpreter.hpp"
#include "data/jinja/js_string.hpp"

namespace elarin::jinja {
namespace {

bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

Value affix_test(const std::string& s, std::vector<Value>& args, const char* name, bool prefix) {
  if (args.empty()) fault(std::string(name) + "() needs at least one argument");
  const auto test = [&](const std::string& p) {
    return prefix ? starts_with(s, p) : ends_with(s, p);
  };
  const Value& pattern = args[0];
  if (pattern.kind == Kind::String) return Value::of_bool(test(pattern.text));
  if (pattern.is_array()) {
    for (const Value& item : *pattern.array) {
      if (item.kind != Kind::String) fault(std::string(name) + "() tuple items must be strings");
      if (test(item.text)) return Value::of_bool(true);
    }
    return Value::of_bool(false);
  }
  fault(std::string(name) + "() needs a string or a tuple of strings, got a " +
        kind_name(pattern.kind));
}

Value split(const std::string& s, std::vector<Value>& args) {
  const Value sep = !args.empty() ? args[0] : Value::null();
  if (sep.kind != Kind::String && sep.kind != Kind::Null) {
    fault(std::string("split() separator must be a string or none, got a ") + kind_name(sep.kind));
  }
  const Value maxsplit = args.size() > 1 ? args[1] : Value::integer(-1);
  if (maxsplit.kind != Kind::Integer) fault("split() maxsplit must be an integer");
  const double limit = maxsplit.number;
  Array out;
  if (sep.kind == Kind::Null) {
    // Runs of non-whitespace; past maxsplit, the rest of the text from the next run on.
    const std::string text = trim_start(s);
    const std::vector<char32_t> cps = to_code_points(text);
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && is_js_whitespace(cps[i])) ++i;
      if (i == cps.size()) break;
      size_t j = i;
      while (j < cps.size() && !is_js_whitespace(cps[j])) ++j;
      if (limit >= 0 && static_cast<double>(out.size()) >= limit) {
        out.push_back(Value::string(from_code_points(cps, i, cps.size())));
        break;
      }
      out.push_back(Value::string(from_code_points(cps, i, j)));
      i = j;
    }
    return Value::list(std::move(out));
  }
  if (sep.text.empty()) fault("split() separator is empty");
  std::vector<std::string> pieces;
  size_t start = 0;
  while (true) {
    const size_t hit = s.find(sep.text, start);
    if (hit == std::string::npos) break;
    pieces.push_back(s.substr(start, hit - start));
    start = hit + sep.text.size();
  }
  pieces.push_back(s.substr(start));
  if (limit >= 0 && static_cast<double>(pieces.size()) > limit) {
    const size_t keep = static_cast<size_t>(limit);
    std::string rest = pieces[keep];
    for (size_t i = keep + 1; i < pieces.size(); ++i) rest += sep.text + pieces[i];
    pieces.resize(keep);
    pieces.push_back(rest);
  }
  for (std::string& p : pieces) out.push_back(Value::string(std::move(p)));
  return Value::list(std::move(out));
}

Value replace(const std::string& s, std::vector<Value>& args) {
  if (args.size() < 2) fault("replace() needs at least two arguments");
  if (args[0].kind != Kind::String || args[1].kind != Kind::String) {
    fault("replace() arguments must be strings");
  }
  Value count = Value::null();
  if (args.size() > 2) {
    if (args[2].kind == Kind::KwArgs) {
      const Value* c = args[2].object->get("count");
      if (c != nullptr) count = *c;
    } else {
      count = args[2];
    }
  }
  if (count.kind != Kind::Integer && count.kind != Kind::Null) {
    fault("replace() count must be an integer or none");
  }
  if (count.kind == Kind::Integer && count.number == 0) return Value::string(s);
  double remaining = count.kind == Kind::Null || count.number < 0 ? HUGE_VAL : count.number;
  const std::string& from = args[0].text;
  const std::string& to = args[1].text;
  std::string out;
  if (from.empty()) {
    // An empty pattern matches at every code point boundary, the end included.
    const std::vector<char32_t> cps = to_code_points(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (remaining > 0) {
        out += to;
        --remaining;
      }
      if (i < cps.size()) append_code_point(out, cps[i]);
    }
  } else {
    size_t start = 0;
    while (remaining > 0) {
      const size_t hit = s.find(from, start);
      if (hit == std::string::npos) break;
      out += s.substr(start, hit - start) + to;
      start = hit + from.size();
      --remaining;
    }
    out += s.substr(start);
  }
  check_size(out);
  return Value::string(out);
}

Value string_member(const std::string& s, const std::string& name) {
  using Fn = Value (*)(const std::string&, std::vector<Value>&);
  // Methods ignore arguments they do not use: strip('\n') strips all whitespace, as in the
  // oracle (Python would strip newlines only).
  static const std::pair<const char*, Fn> kMethods[] = {
      {"upper",
       [](const std::string& t, std::vector<Value>&) { return Value::string(to_upper(t)); }},
      {"lower",
       [](const std::string& t, std::vector<Value>&) { return Value::string(to_lower(t)); }},
      {"strip", [](const std::string& t, std::vector<Value>&) { return Value::string(trim(t)); }},
      {"title",
       [](const std::string& t, std::vector<Value>&) { return Value::string(title_case(t)); }},
      {"capitalize",
       [](const std::string& t, std::vector<Value>&) { return Value::string(capitalize(t)); }},
      {"rstrip",
       [](const std::string& t, std::vector<Value>&) { return Value::string(trim_end(t)); }},
      {"lstrip",
       [](const std::string& t, std::vector<Value>&) { return Value::string(trim_start(t)); }},
      {"startswith", [](const std::string& t,
                        std::vector<Value>& a) { return affix_test(t, a, "startswith", true); }},
      {"endswith", [](const std::string& t,
                      std::vector<Value>& a) { return affix_test(t, a, "endswith", false); }},
      {"split", [](const std::string& t, std::vector<Value>& a) { return split(t, a); }},
      {"replace", [](const std::string& t, std::vector<Value>& a) { return replace(t, a); }},
  };
  if (name == "length") return Value::integer(static_cast<double>(utf16_length(s)));
  for (const auto& [method, fn] : kMethods) {
    if (name == method) {
      return Value::callable([s, fn = fn](std::vector<Value>& args, Env*) { return fn(s, args); });
    }
  }
  return Value::undefined();
}

Value pairs(const Object& object) {
  Array items;
  for (const auto& [k, v] : object.entries()) items.push_back(Value::list({Value::string(k), v}));
  return Value::list(std::move(items));
}

Value dictsort(const Object& object, std::vector<Value>& args) {
  std::vector<Value> positional;
  std::shared_ptr<Object> kwargs = std::make_shared<Object>();
  for (const Value& a : args) {
    if (a.kind == Kind::KwArgs) {
      kwargs = a.object;
    } else {
      positional.push_back(a);
    }
  }
  const auto option = [&](size_t i, const char* key, Value fallback) {
    if (i < positional.size()) return positional[i];
    const Value* v = kwargs->get(key);
    return v ? *v : fallback;
  };
  const Value case_sensitive = option(0, "case_sensitive", Value::of_bool(false));
  if (case_sensitive.kind != Kind::Boolean) fault("dictsort: case_sensitive must be a boolean");
  const Value by = option(1, "by", Value::string("key"));
  if (by.kind != Kind::String || (by.text != "key" && by.text != "value")) {
    fault("dictsort: by must be 'key' or 'value'");
  }
  const Value reverse = option(2, "reverse", Value::of_bool(false));
  if (reverse.kind != Kind::Boolean) fault("dictsort: reverse must be a boolean");
  Array items = *pairs(object).array;
  const size_t index = by.text == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const int c = compare_values((*a.array)[index], (*b.array)[index], case_sensitive.boolean);
    return (reverse.boolean ? -c : c) < 0;
  });
  return Value::list(std::move(items));
}

Value object_member(const std::shared_ptr<Object>& object, const std::string& name) {
  if (name == "get") {
    return Value::callable([object](std::vector<Value>& args, Env*) {
      if (args.empty() || args[0].kind != Kind::String) {
        fault(std::string("get() key must be a string, got ") +
              (args.empty() ? "nothing" : std::string("a ") + kind_name(args[0].kind)));
      }
      if (const Value* v = object->get(args[0].text)) return *v;
      return args.size() > 1 ? args[1] : Value::null();
    });
  }
  if (name == "items") return Value::callable([object](auto&, Env*) { return pairs(*object); });
  if (name == "keys" || name == "values") {
    const bool keys = name == "keys";
    return Value::callable([object, keys](auto&, Env*) {
      Array out;
      for (const auto& [k, v] : object->entries()) out.push_back(keys ? Value::string(k) : v);
      return Value::list(std::move(out));
    });
  }
  if (name == "dictsort") {
    return Value::callable(
        [object](std::vector<Value>& args, Env*) { return dictsort(*object, args); });
  }
  return Value::undefined();
}

const char* kTests[] = {"boolean",  "callable",  "odd",      "even",   "false",
                        "true",     "none",      "string",   "number", "integer",
                        "iterable", "mapping",   "sequence", "lower",  "upper",
                        "defined",  "undefined", "equalto",  "eq"};

const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                         "July",    "August",   "September", "October", "November", "December"};

// strftime_now: the oracle knows %Y %m %d %b %B %H %M %% and leaves other codes as written.
std::string strftime_now(const std::string& format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  const auto pad2 = [](int n) { return (n < 10 ? "0" : "") + std::to_string(n); };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out += format[i];
      continue;
    }
    const char code = format[i + 1];
    switch (code) {
      case 'Y':
        out += std::to_string(tm.tm_year + 1900);
        break;
      case 'm':
        out += pad2(tm.tm_mon + 1);
        break;
      case 'd':
        out += pad2(tm.tm_mday);
        break;
      case 'b':
        out += std::string(kMonths[tm.tm_mon]).substr(0, 3);
        break;
      case 'B':
        out += kMonths[tm.tm_mon];
        break;
      case 'H':
        out += pad2(tm.tm_hour);
        break;
      case 'M':
        out += pad2(tm.tm_min);
        break;
      case '%':
        out += '%';
        break;
      default:
        out += format[i];
        continue;
    }
    ++i;
  }
  return out;
}

Value range(std::vector<Value>& args) {
  for (const Value& a : args) {
    if (!a.is_number()) fault(std::string("range() needs numbers, got a ") + kind_name(a.kind));
  }
  if (args.size() > 3) fault("range() takes at most 3 arguments");
  double start = 0, stop = 0, step = 1;
  if (args.size() == 1) stop = args[0].number;
  if (args.size() >= 2) start = args[0].number, stop = args[1].number;
  if (args.size() == 3) step = args[2].number;
  if (step == 0) fault("range() step must not be zero");
  constexpr double kMaxItems = 10'000'000;
  if (std::isnan(start) || std::isnan(stop) || (stop - start) / step > kMaxItems) {
    fault("range() would produce more than 10000000 numbers");
  }
  Array out;
  for (double i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push_back(std::trunc(i) == i ? Value::integer(i) : Value::floating(i));
  }
  return Value::list(std::move(out));
}

// namespace(dict_or_pairs?, **kwargs).
Value make_namespace(std::vector<Value>& args) {
  std::vector<Value> positional = args;
  std::shared_ptr<Object> kwargs;
  if (!positional.empty() && positional.back().kind == Kind::KwArgs) {
    kwargs = positional.back().object;
    positional.pop_back();
  }
  if (positional.size() > 1) {
    fault("namespace() takes at most 1 positional argument, got " +
          std::to_string(positional.size()));
  }
  auto entries = std::make_shared<Object>();
  if (positional.size() == 1) {
    const Value& source = positional[0];
    if (source.is_object()) {
      for (const auto& [k, v] : source.object->entries()) entries->set(k, v);
    } else if (source.is_array()) {
      for (const Value& pair : *source.array) {
        Array kv;
        if (pair.is_array()) {
          kv = *pair.array;
        } else if (pair.kind == Kind::String) {
          const std::vector<char32_t> cps = to_code_points(pair.text);
          for (size_t i = 0; i < cps.size(); ++i)
            kv.push_back(Value::string(from_code_points(cps, i, i + 1)));
        }
        if (kv.size() != 2) fault("namespace() expected a dict or a list of [key, value] pairs");
        if (kv[0].kind != Kind::String) fault("namespace() keys must be strings");
        entries->set(kv[0].text, kv[1]);
      }
    } else {
      fault(std::string("namespace() cannot read a ") + kind_name(source.kind));
    }
  }
  if (kwargs) {
    for (const auto& [k, v] : kwargs->entries()) entries->set(k, v);
  }
  return Value::map(entries, Kind::Namespace);
}

}  // namespace

Value builtin_member(const Value& object, const std::string& name) {
  if (object.kind == Kind::String) return string_member(object.text, name);
  if (object.is_array()) {
    return name == "length" ? Value::integer(static_cast<double>(object.array->size()))
                            : Value::undefined();
  }
  if (object.is_object()) return object_member(object.object, name);
  return Value::undefined();
}

bool has_test(const std::string& name) {
  return std::any_of(std::begin(kTests), std::end(kTests),
                     [&](const char* t) { return name == t; });
}

bool run_test(const std::string& name, const Value& v, const Value* argument, bool* known) {
  *known = true;
  if (name == "boolean") return v.kind == Kind::Boolean;
  if (name == "callable") return v.kind == Kind::Function;
  if (name == "odd" || name == "even") {
    if (v.kind != Kind::Integer)
      fault("'is " + name + "' needs an integer, got a " + kind_name(v.kind));
    const bool odd = std::fmod(v.number, 2) != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "false") return v.kind == Kind::Boolean && !v.boolean;
  if (name == "true") return v.kind == Kind::Boolean && v.boolean;
  if (name == "none") return v.kind == Kind::Null;
  if (name == "string") return v.kind == Kind::String;
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == Kind::Integer;
  // The oracle counts lists and strings only: tuples and dicts are not "iterable".
  if (name == "iterable") return v.kind == Kind::Array || v.kind == Kind::String;
  if (name == "mapping") return v.is_object();
  if (name == "sequence") return v.is_array() || v.is_object() || v.kind == Kind::String;
  if (name == "lower") return v.kind == Kind::String && v.text == to_lower(v.text);
  if (name == "upper") return v.kind == Kind::String && v.text == to_upper(v.text);
  if (name == "defined") return v.kind != Kind::Undefined;
  if (name == "undefined") return v.kind == Kind::Undefined;
  if (name == "equalto" || name == "eq") {
    if (argument == nullptr) {
      fault("'is " + name +
            "' needs a value to compare with, which only selectattr/rejectattr can "
            "pass; use == instead");
    }
    return strict_equal(v, *argument);
  }
  *known = false;
  return false;
}

Value make_namespace_builtin() {
  return Value::callable([](std::vector<Value>& args, Env*) { return make_namespace(args); });
}

void install_globals(Env* global) {
  global->vars["false"] = Value::of_bool(false);
  global->vars["true"] = Value::of_bool(true);
  global->vars["none"] = Value::null();
  global->vars["False"] = Value::of_bool(false);
  global->vars["True"] = Value::of_bool(true);
  global->vars["None"] = Value::null();
  global->vars["raise_exception"] = Value::callable([](std::vector<Value>& args, Env*) -> Value {
    // new Error(args[0]): the message is String() of the raw value, "" when there is none.
    throw Raised{args.empty() ? "" : join_piece(args[0])};
  });
  global->vars["range"] =
      Value::callable([](std::vector<Value>& args, Env*) { return range(args); });
  global->vars["strftime_now"] = Value::callable([](std::vector<Value>& args, Env*) {
    if (args.empty() || args[0].kind != Kind::String) fault("strftime_now() needs a format string");
    return Value::string(strftime_now(args[0].text));
  });
}

}  // namespace elarin::jinja
