// Binary operators, member access and slicing with the oracle's JavaScript semantics (loose
// ==, string + anything, `in` by identity for lists). Leaves out statements.
#include <algorithm>
#include <cmath>

#include "data/jinja/interpreter.hpp"
#include "data/jinja/js_string.hpp"

namespace elarin::jinja {
namespace {

constexpr size_t kMaxArrayItems = 1u << 24;  // list concatenation limit

// Python-style slicing with the oracle's clamping (utils.ts slice()).
std::vector<size_t> slice_indices(size_t size, const Value& start, const Value& stop,
                                  const Value& step) {
  const double len = static_cast<double>(size);
  const double st = step.kind == Kind::Undefined ? 1 : step.number;
  const double direction = st > 0 ? 1 : st < 0 ? -1 : 0;
  double s, e;
  if (direction >= 0) {
    s = start.kind == Kind::Undefined ? 0
        : start.number < 0            ? std::max(len + start.number, 0.0)
                                      : std::min(start.number, len);
    e = stop.kind == Kind::Undefined ? len
        : stop.number < 0            ? std::max(len + stop.number, 0.0)
                                     : std::min(stop.number, len);
  } else {
    s = start.kind == Kind::Undefined ? len - 1
        : start.number < 0            ? std::max(len + start.number, -1.0)
                                      : std::min(start.number, len - 1);
    e = stop.kind == Kind::Undefined ? -1
        : stop.number < -1           ? std::max(len + stop.number, -1.0)
                                     : std::min(stop.number, len - 1);
  }
  std::vector<size_t> out;
  for (double i = s; direction * i < direction * e; i += st) {
    if (i >= 0 && i < len) out.push_back(static_cast<size_t>(i));
  }
  return out;
}

bool numeric_like(const Value& v) { return v.is_number() || v.kind == Kind::Boolean; }
double numeric_value(const Value& v) {
  return v.kind == Kind::Boolean ? (v.boolean ? 1 : 0) : v.number;
}

}  // namespace

Value Interpreter::evaluate_slice(const Value& object, const Node& slice, Env* env) {
  if (!object.is_array() && object.kind != Kind::String) {
    fault(std::string("only lists and strings can be sliced, not a ") + kind_name(object.kind));
  }
  Value parts[3];
  const NodePtr* nodes[3] = {&slice.a, &slice.b, &slice.c};
  const char* names[3] = {"start", "stop", "step"};
  for (int i = 0; i < 3; ++i) {
    if (*nodes[i]) parts[i] = evaluate(**nodes[i], env);
    if (parts[i].kind != Kind::Integer && parts[i].kind != Kind::Undefined) {
      fault(std::string("slice ") + names[i] + " must be an integer, got " +
            kind_name(parts[i].kind));
    }
  }
  if (object.is_array()) {
    Array out;
    for (size_t i : slice_indices(object.array->size(), parts[0], parts[1], parts[2])) {
      out.push_back((*object.array)[i]);
    }
    return Value::list(std::move(out));
  }
  const std::vector<char32_t> cps = to_code_points(object.text);
  std::string out;
  for (size_t i : slice_indices(cps.size(), parts[0], parts[1], parts[2])) {
    append_code_point(out, cps[i]);
  }
  return Value::string(out);
}

Value Interpreter::evaluate_member(const Node& node, Env* env) {
  const Value object = evaluate(*node.a, env);
  Value property;
  if (node.flag) {
    if (node.b->kind == NodeKind::Slice) return evaluate_slice(object, *node.b, env);
    property = evaluate(*node.b, env);
  } else if (node.b->kind == NodeKind::Integer) {
    property = Value::integer(node.b->number);
  } else {
    property = Value::string(node.b->name);
  }
  if (object.is_container()) {
    if (property.kind != Kind::String) {
      fault(std::string("cannot look up a ") + kind_name(property.kind) + " key in a " +
            kind_name(object.kind) + " (keys are strings)");
    }
    if (const Value* v = object.object->get(property.text)) return *v;
    return object.is_object() ? builtin_member(object, property.text) : Value::undefined();
  }
  if (object.is_array() || object.kind == Kind::String) {
    if (property.kind == Kind::Integer) {
      if (object.kind == Kind::String) {
        std::string unit;
        return utf16_at(object.text, property.number, &unit) ? Value::string(unit)
                                                             : Value::undefined();
      }
      const double n = static_cast<double>(object.array->size());
      double i = std::trunc(property.number);
      if (i < 0) i += n;
      return i >= 0 && i < n ? (*object.array)[static_cast<size_t>(i)] : Value::undefined();
    }
    if (property.kind == Kind::String) return builtin_member(object, property.text);
    fault(std::string("cannot index a ") + kind_name(object.kind) + " with a " +
          kind_name(property.kind));
  }
  if (property.kind != Kind::String) {
    fault(std::string("cannot index ") +
          (object.kind == Kind::Undefined ? "an undefined value"
                                          : std::string("a ") + kind_name(object.kind)) +
          " with a " + kind_name(property.kind));
  }
  return builtin_member(object, property.text);
}

Value Interpreter::evaluate_binary(const Node& node, Env* env) {
  const std::string& op = node.name;
  const Value left = evaluate(*node.a, env);
  if (op == "and") return truthy(left) ? evaluate(*node.b, env) : left;
  if (op == "or") return truthy(left) ? left : evaluate(*node.b, env);
  const Value right = evaluate(*node.b, env);
  if (op == "==") return Value::of_bool(loose_equal(left, right));
  if (op == "!=") return Value::of_bool(!loose_equal(left, right));
  const bool is_float = left.kind == Kind::Float || right.kind == Kind::Float;
  const auto number = [&](double v) { return is_float ? Value::floating(v) : Value::integer(v); };
  if (left.is_number() && right.is_number() && op != "~" && op != "**") {
    const double a = left.number, b = right.number;
    if (op == "+") return number(a + b);
    if (op == "-") return number(a - b);
    if (op == "*") return number(a * b);
    if (op == "/") return Value::floating(a / b);
    if (op == "//") return number(std::floor(a / b));
    if (op == "%") return number(std::fmod(a, b));
    if (op == "<") return Value::of_bool(a < b);
    if (op == ">") return Value::of_bool(a > b);
    if (op == ">=") return Value::of_bool(a >= b);
    if (op == "<=") return Value::of_bool(a <= b);
  } else if (left.kind == Kind::Undefined || right.kind == Kind::Undefined) {
    if (right.kind == Kind::Undefined && (op == "in" || op == "not in")) {
      return Value::of_bool(op == "not in");
    }
    if (op == "~" && left.kind != Kind::Null && right.kind != Kind::Null) {
      const std::string text = (left.kind == Kind::Undefined ? "" : raw_string(left)) +
                               (right.kind == Kind::Undefined ? "" : raw_string(right));
      check_size(text);
      return Value::string(text);
    }
    fault("cannot apply '" + op + "' to an undefined value (a missing variable or key?)");
  } else if (left.kind == Kind::Null || right.kind == Kind::Null) {
    fault("cannot apply '" + op + "' to none");
  } else if (op == "~") {
    std::string text = raw_string(left) + raw_string(right);
    check_size(text);
    return Value::string(std::move(text));
  } else if (op == "**" && numeric_like(left) && numeric_like(right)) {
    const double a = numeric_value(left), b = numeric_value(right);
    if (a == 0 && b < 0) fault("0.0 cannot be raised to a negative power");
    // JS `**`: NaN exponents and (+-1) ** Infinity are NaN, unlike C's pow.
    const double result =
        std::isnan(b) || (std::fabs(a) == 1 && std::isinf(b)) ? NAN : std::pow(a, b);
    if (!std::isfinite(result)) fault("exponentiation result is not a finite real number");
    return is_float || b < 0 ? Value::floating(result) : Value::integer(result);
  } else if (left.is_array() && right.is_array()) {
    if (op == "+") {
      if (left.array->size() + right.array->size() > kMaxArrayItems) {
        fault("list concatenation grew past " + std::to_string(kMaxArrayItems) + " items");
      }
      Array joined = *left.array;
      joined.insert(joined.end(), right.array->begin(), right.array->end());
      return Value::list(std::move(joined));
    }
  } else if (right.is_array()) {
    const bool member = std::any_of(right.array->begin(), right.array->end(),
                                    [&](const Value& x) { return strict_equal(x, left); });
    if (op == "in") return Value::of_bool(member);
    if (op == "not in") return Value::of_bool(!member);
  }
  if ((left.kind == Kind::String || right.kind == Kind::String) && op == "+") {
    std::string text = raw_string(left) + raw_string(right);
    check_size(text);
    return Value::string(std::move(text));
  }
  if (left.kind == Kind::String && right.kind == Kind::String) {
    const bool found = right.text.find(left.text) != std::string::npos;
    if (op == "in") return Value::of_bool(found);
    if (op == "not in") return Value::of_bool(!found);
  }
  if (left.kind == Kind::String && right.is_object()) {
    const bool found = right.object->get(left.text) != nullptr;
    if (op == "in") return Value::of_bool(found);
    if (op == "not in") return Value::of_bool(!found);
  }
  fault("unsupported operator '" + op + "' between a " + kind_name(left.kind) + " and a " +
        kind_name(right.kind));
}

}  // namespace elarin::jinja
