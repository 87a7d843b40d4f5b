// Filters (`x | name` and `x | name(args)`), with the oracle's per-type dispatch: a filter
// exists for some operand types only, and the bare and called forms support different sets.
// Leaves out tests and methods (builtins.cpp).
#include <algorithm>
#include <cmath>

#include "data/jinja/interpreter.hpp"
#include "data/jinja/js_string.hpp"

namespace elarin::jinja {
namespace {

[[noreturn]] void unsupported(const std::string& name, const Value& operand, bool called,
                              const char* supported) {
  fault("unsupported filter '" + name + (called ? "(...)" : "") + "' on a " +
        kind_name(operand.kind) + " (supported here: " + supported + ")");
}

std::string indent_lines(const std::string& s, const std::string& indent, bool first, bool blank) {
  std::string out;
  size_t start = 0;
  for (size_t i = 0;; ++i) {
    const size_t nl = s.find('\n', start);
    const std::string line =
        s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (i > 0) out += '\n';
    out += (!first && i == 0) || (!blank && line.empty()) ? line : indent + line;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// getAttributeValue: "a.b.0" through dicts, namespaces and list indices.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_container()) {
      const Value* next = v.object->get(part);
      v = next ? *next : Value::undefined();
    } else if (v.is_array()) {
      const double index = js_parse_int(part);
      if (!std::isnan(index) && index >= 0 && index < static_cast<double>(v.array->size())) {
        v = (*v.array)[static_cast<size_t>(index)];
      } else {
        return Value::undefined();
      }
    } else {
      return Value::undefined();
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

const Value* arg_or(const std::vector<Value>& args, size_t i, const Object& kwargs,
                    const char* key) {
  if (i < args.size()) return &args[i];
  return kwargs.get(key);
}

Value sorted(const Value& operand, bool reverse, bool case_sensitive, const Value& attribute) {
  Array items = *operand.array;
  const auto key = [&](const Value& v) {
    if (attribute.kind == Kind::Null) return v;
    return attribute_path(v, attribute.kind == Kind::Integer ? js_number_to_string(attribute.number)
                                                             : attribute.text);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const int c = compare_values(key(a), key(b), case_sensitive);
    return (reverse ? -c : c) < 0;
  });
  return Value::list(std::move(items));
}

Value plain_filter(const Value& operand, const std::string& name) {
  if (operand.is_array()) {
    const Array& a = *operand.array;
    if (name == "list") return operand;
    if (name == "first" || name == "last") {
      // The oracle returns a bare JS undefined here, which breaks whatever uses it next.
      if (a.empty()) fault("'" + name + "' of an empty list");
      return name == "first" ? a.front() : a.back();
    }
    if (name == "length") return Value::integer(static_cast<double>(a.size()));
    if (name == "reverse") return Value::list(Array(a.rbegin(), a.rend()));
    if (name == "sort") return sorted(operand, false, false, Value::null());
    if (name == "join") {
      std::string out;
      for (const Value& v : a) out += join_piece(v);
      return Value::string(out);
    }
    if (name == "string") return Value::string(to_json(operand, JsonOptions{}, false));
    if (name == "unique") {
      Array out;
      for (const Value& v : a) {
        const bool seen = std::any_of(out.begin(), out.end(), [&](const Value& o) {
          return strict_equal(o, v) ||
                 (o.is_number() && v.is_number() && std::isnan(o.number) && std::isnan(v.number));
        });
        if (!seen) out.push_back(v);
      }
      return Value::list(std::move(out));
    }
    unsupported(name, operand, false,
                "safe, tojson, list, first, last, length, reverse, sort, join, string, unique");
  }
  if (operand.kind == Kind::String) {
    const std::string& s = operand.text;
    if (name == "length") return Value::integer(static_cast<double>(utf16_length(s)));
    if (name == "upper") return Value::string(to_upper(s));
    if (name == "lower") return Value::string(to_lower(s));
    if (name == "title") return Value::string(title_case(s));
    if (name == "capitalize") return Value::string(capitalize(s));
    if (name == "trim") return Value::string(trim(s));
    if (name == "indent") return Value::string(indent_lines(s, "    ", false, false));
    if (name == "join" || name == "string") return operand;
    if (name == "int") {
      const double v = js_parse_int(s);
      return Value::integer(std::isnan(v) ? 0 : v);
    }
    if (name == "float") {
      const double v = js_parse_float(s);
      return Value::floating(std::isnan(v) ? 0 : v);
    }
    unsupported(name, operand, false,
                "safe, tojson, length, upper, lower, title, capitalize, trim, indent, join, "
                "string, int, float");
  }
  if (operand.is_number()) {
    if (name == "abs") {
      return operand.kind == Kind::Integer ? Value::integer(std::fabs(operand.number))
                                           : Value::floating(std::fabs(operand.number));
    }
    if (name == "int") return Value::integer(std::trunc(operand.number) + 0.0);
    if (name == "float") return Value::floating(operand.number);
    if (name == "string") return Value::string(to_output(operand));
    unsupported(name, operand, false, "safe, tojson, abs, int, float, string");
  }
  if (operand.is_object()) {
    if (name == "items") {
      Array items;
      for (const auto& [k, v] : operand.object->entries()) {
        items.push_back(Value::list({Value::string(k), v}));
      }
      return Value::list(std::move(items));
    }
    if (name == "length") return Value::integer(static_cast<double>(operand.object->size()));
    const Value method = builtin_member(operand, name);
    if (method.kind == Kind::Function) {
      std::vector<Value> none;
      return (*method.function)(none, nullptr);
    }
    unsupported(name, operand, false, "safe, tojson, items, length, keys, values, dictsort");
  }
  if (operand.kind == Kind::Boolean) {
    if (name == "bool") return operand;
    if (name == "int") return Value::integer(operand.boolean ? 1 : 0);
    if (name == "float") return Value::floating(operand.boolean ? 1 : 0);
    if (name == "string") return Value::string(operand.boolean ? "true" : "false");
    unsupported(name, operand, false, "safe, tojson, bool, int, float, string");
  }
  unsupported(name, operand, false, "safe, tojson");
}

Value tojson_filter(const Value& operand, const Object& kwargs) {
  JsonOptions options;
  if (const Value* indent = kwargs.get("indent")) {
    if (indent->kind == Kind::Integer) {
      if (indent->number < 0 || indent->number > 10000) {
        fault("tojson indent must be between 0 and 10000, got " +
              js_number_to_string(indent->number));
      }
      options.indent = static_cast<int>(indent->number);
    } else if (indent->kind != Kind::Null) {
      fault(std::string("tojson indent must be an integer, got a ") + kind_name(indent->kind));
    }
  }
  const auto flag = [&](const char* key) {
    const Value* v = kwargs.get(key);
    if (v == nullptr) return false;
    if (v->kind != Kind::Boolean) {
      fault(std::string("tojson ") + key + " must be a boolean, got a " + kind_name(v->kind));
    }
    return v->boolean;
  };
  options.ensure_ascii = flag("ensure_ascii");
  options.sort_keys = flag("sort_keys");
  if (const Value* seps = kwargs.get("separators")) {
    if (seps->is_array()) {
      if (seps->array->size() != 2 || (*seps->array)[0].kind != Kind::String ||
          (*seps->array)[1].kind != Kind::String) {
        fault("tojson separators must be a tuple of two strings");
      }
      options.custom_separators = true;
      options.item_separator = (*seps->array)[0].text;
      options.key_separator = (*seps->array)[1].text;
    } else if (seps->kind != Kind::Null) {
      fault(std::string("tojson separators must be a tuple of two strings, got a ") +
            kind_name(seps->kind));
    }
  }
  return Value::string(to_json(operand, options));
}

}  // namespace

Value apply_filter(Interpreter& interp, const Value& operand, const Node& filter, Env* env) {
  if (filter.kind == NodeKind::Identifier) {
    if (filter.name == "safe") return operand;
    if (filter.name == "tojson") return Value::string(to_json(operand, JsonOptions{}));
    return plain_filter(operand, filter.name);
  }
  if (filter.kind != NodeKind::Call || filter.a->kind != NodeKind::Identifier) {
    fault("unsupported filter expression (expected a name or a call)");
  }
  const std::string& name = filter.a->name;
  if (name == "tojson") {
    const auto parsed = interp.evaluate_arguments(filter.list, env);
    return tojson_filter(operand, *parsed.second);
  }
  if (name == "join") {
    std::vector<std::string> pieces;
    if (operand.kind == Kind::String) {
      for (char32_t cp : to_code_points(operand.text)) {
        pieces.emplace_back();
        append_code_point(pieces.back(), cp);
      }
    } else if (operand.is_array()) {
      for (const Value& v : *operand.array) pieces.push_back(join_piece(v));
    } else {
      unsupported(name, operand, true, "lists and strings only");
    }
    const auto [args, kwargs] = interp.evaluate_arguments(filter.list, env);
    const Value* sep = arg_or(args, 0, *kwargs, "separator");
    if (sep != nullptr && sep->kind != Kind::String) {
      fault(std::string("join separator must be a string, got a ") + kind_name(sep->kind));
    }
    std::string out;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i > 0 && sep != nullptr) out += sep->text;
      out += pieces[i];
    }
    return Value::string(out);
  }
  if (name == "int" || name == "float") {
    const bool as_int = name == "int";
    const auto [args, kwargs] = interp.evaluate_arguments(filter.list, env);
    const Value* given = arg_or(args, 0, *kwargs, "default");
    const Value fallback = given ? *given : as_int ? Value::integer(0) : Value::floating(0);
    if (operand.kind == Kind::String) {
      const double v = as_int ? js_parse_int(operand.text) : js_parse_float(operand.text);
      if (std::isnan(v)) return fallback;
      return as_int ? Value::integer(v) : Value::floating(v);
    }
    if (operand.is_number()) {
      return as_int ? Value::integer(std::trunc(operand.number) + 0.0)
                    : Value::floating(operand.number);
    }
    if (operand.kind == Kind::Boolean) {
      return as_int ? Value::integer(operand.boolean ? 1 : 0)
                    : Value::floating(operand.boolean ? 1 : 0);
    }
    unsupported(name, operand, true, "strings, numbers and booleans only");
  }
  if (name == "default") {
    const auto [args, kwargs] = interp.evaluate_arguments(filter.list, env);
    const Value fallback = !args.empty() ? args[0] : Value::string("");
    const Value* boolean = arg_or(args, 1, *kwargs, "boolean");
    if (boolean != nullptr && boolean->kind != Kind::Boolean) {
      fault("the 'boolean' flag of default must be a boolean");
    }
    const bool falsy_too = boolean != nullptr && boolean->boolean;
    if (operand.kind == Kind::Undefined || (falsy_too && !truthy(operand))) return fallback;
    return operand;
  }
  if (operand.is_array()) {
    if (name == "sort") {
      const auto [args, kwargs] = interp.evaluate_arguments(filter.list, env);
      const Value* reverse = arg_or(args, 0, *kwargs, "reverse");
      const Value* case_sensitive = arg_or(args, 1, *kwargs, "case_sensitive");
      const Value* attribute = arg_or(args, 2, *kwargs, "attribute");
      if ((reverse && reverse->kind != Kind::Boolean) ||
          (case_sensitive && case_sensitive->kind != Kind::Boolean)) {
        fault("sort: reverse and case_sensitive must be booleans");
      }
      if (attribute && attribute->kind != Kind::String && attribute->kind != Kind::Integer &&
          attribute->kind != Kind::Null) {
        fault("sort: attribute must be a string, an integer or none");
      }
      return sorted(operand, reverse && reverse->boolean, case_sensitive && case_sensitive->boolean,
                    attribute ? *attribute : Value::null());
    }
    if (name == "selectattr" || name == "rejectattr") {
      const bool select = name == "selectattr";
      for (const Value& item : *operand.array) {
        if (!item.is_container()) fault("'" + name + "' can only be applied to a list of dicts");
      }
      for (const NodePtr& arg : filter.list) {
        if (arg->kind != NodeKind::String)
          fault("the arguments of '" + name + "' must be string literals");
      }
      std::vector<Value> args;
      for (const NodePtr& arg : filter.list) args.push_back(interp.evaluate(*arg, env));
      const Value* value = args.size() > 2 ? &args[2] : nullptr;
      if (args.size() > 1 && !has_test(args[1].text)) {
        fault("unsupported test '" + args[1].text + "' in " + name);
      }
      bool known = true;
      Array out;
      for (const Value& item : *operand.array) {
        if (args.empty()) fault("'" + name + "' needs an attribute name");
        const Value* a = item.object->get(args[0].text);
        bool result = false;
        if (a != nullptr)
          result = args.size() > 1 ? run_test(args[1].text, *a, value, &known) : truthy(*a);
        if (result == select) out.push_back(item);
      }
      return Value::list(std::move(out));
    }
    if (name == "map") {
      const auto parsed = interp.evaluate_arguments(filter.list, env);
      const Value* attribute = parsed.second->get("attribute");
      if (attribute == nullptr)
        fault("'map' without attribute= is not supported (the oracle has no other form)");
      if (attribute->kind != Kind::String) fault("map: attribute must be a string");
      const Value* fallback = parsed.second->get("default");
      Array out;
      for (const Value& item : *operand.array) {
        if (!item.is_container()) fault("'map' can only be applied to a list of dicts");
        const Value v = attribute_path(item, attribute->text);
        out.push_back(v.kind == Kind::Undefined && fallback ? *fallback : v);
      }
      return Value::list(std::move(out));
    }
    unsupported(name, operand, true,
                "tojson, join, int, float, default, sort, selectattr, rejectattr, map");
  }
  if (operand.kind == Kind::String) {
    if (name == "indent") {
      const auto [args, kwargs] = interp.evaluate_arguments(filter.list, env);
      const Value* width = arg_or(args, 0, *kwargs, "width");
      if (width && width->kind != Kind::Integer && width->kind != Kind::String) {
        fault("indent width must be an integer or a string");
      }
      const Value* first = arg_or(args, 1, *kwargs, "first");
      const Value* blank = arg_or(args, 2, *kwargs, "blank");
      std::string indent = "    ";
      if (width) {
        indent =
            width->kind == Kind::String
                ? width->text
                : std::string(static_cast<size_t>(std::clamp(width->number, 0.0, 10000.0)), ' ');
      }
      return Value::string(indent_lines(operand.text, indent, first && raw_truthy(*first),
                                        blank && raw_truthy(*blank)));
    }
    if (name == "replace") {
      auto [args, kwargs] = interp.evaluate_arguments(filter.list, env);
      args.push_back(Value::map(kwargs, Kind::KwArgs));
      const Value method = builtin_member(operand, "replace");
      return (*method.function)(args, env);
    }
    unsupported(name, operand, true, "tojson, join, int, float, default, indent, replace");
  }
  if (operand.is_object()) {
    const Value method = builtin_member(operand, name);
    if (method.kind == Kind::Function) {
      std::vector<Value> args = interp.evaluate_call_arguments(filter.list, env);
      return (*method.function)(args, env);
    }
    unsupported(name, operand, true, "tojson, default, get, items, keys, values, dictsort");
  }
  unsupported(name, operand, true, "tojson, join, int, float, default");
}

}  // namespace elarin::jinja
