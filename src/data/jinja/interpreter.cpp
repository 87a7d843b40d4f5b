// The interpreter: statements, scopes, macros, call blocks and operators, ported from
// @huggingface/jinja 0.5.13's Interpreter. Leaves out filters, tests and methods.
#include "data/jinja/interpreter.hpp"

#include <algorithm>
#include <cmath>

#include "data/jinja/js_string.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::jinja {
namespace {

constexpr int kMaxCallDepth = 200;  // nested macro calls; deeper is runaway recursion
constexpr size_t kMaxStringBytes = 64u << 20;

// {% break %} / {% continue %}: exceptions, as in the oracle, so they also cross if-blocks,
// macro calls and {% set %} blocks, and the unfinished iteration's output is dropped.
struct BreakSignal {
  int line;
};
struct ContinueSignal {
  int line;
};

std::string callee_name(const Node& callee) {
  if (callee.kind == NodeKind::Identifier) return callee.name;
  if (callee.kind == NodeKind::Member && !callee.flag && callee.b->kind == NodeKind::Identifier) {
    return "." + callee.b->name;
  }
  return "expression";
}

bool numeric_like(const Value& v) { return v.is_number() || v.kind == Kind::Boolean; }
double numeric_value(const Value& v) {
  return v.kind == Kind::Boolean ? (v.boolean ? 1 : 0) : v.number;
}

Value make_loop(size_t i, size_t length, const Array& items) {
  auto loop = std::make_shared<Object>();
  const double n = static_cast<double>(length), k = static_cast<double>(i);
  loop->set("index", Value::integer(k + 1));
  loop->set("index0", Value::integer(k));
  loop->set("revindex", Value::integer(n - k));
  loop->set("revindex0", Value::integer(n - k - 1));
  loop->set("first", Value::of_bool(i == 0));
  loop->set("last", Value::of_bool(i + 1 == length));
  loop->set("length", Value::integer(n));
  loop->set("previtem", i > 0 ? items[i - 1] : Value::undefined());
  loop->set("nextitem", i + 1 < length ? items[i + 1] : Value::undefined());
  return Value::map(loop);
}

}  // namespace

void check_size(const std::string& text) {
  if (text.size() > kMaxStringBytes) {
    fault("the rendered text grew past " + std::to_string(kMaxStringBytes >> 20) +
          " MiB (runaway template?)");
  }
}

Interpreter::Interpreter(const std::string& origin)
    : origin_(origin), namespace_builtin_(make_namespace_builtin()) {}

std::string Interpreter::where(int line) const {
  return origin_ + ":" + std::to_string(line) + ": ";
}

Env* Interpreter::new_env(Env* parent) {
  envs_.emplace_back();
  envs_.back().parent = parent;
  return &envs_.back();
}

Value Interpreter::lookup(const std::string& name, Env* env) const {
  if (name == "namespace") {
    const auto it = env->vars.find(name);
    return it != env->vars.end() ? it->second : namespace_builtin_;
  }
  for (const Env* e = env; e != nullptr; e = e->parent) {
    const auto it = e->vars.find(name);
    if (it != e->vars.end()) return it->second;
  }
  return Value::undefined();
}

std::string Interpreter::run(const std::vector<NodePtr>& program,
                             const nlohmann::ordered_json& context) {
  Env* global = new_env(nullptr);
  install_globals(global);
  if (!context.is_null() && !context.is_object()) {
    throw UsageError(origin_ + ": the render context must be a JSON object, got " +
                     std::string(context.type_name()));
  }
  if (context.is_object()) {
    const Value vars = from_json(context);
    for (const auto& [key, value] : vars.object->entries()) {
      if (key == "namespace" || global->vars.count(key) != 0) {
        throw UsageError(origin_ + ": context variable '" + key +
                         "' collides with a template global of the same name");
      }
      global->vars[key] = value;
    }
  }
  std::string out;
  try {
    render_block(program, global, out);
  } catch (const BreakSignal& s) {
    throw FormatError(where(s.line) + "{% break %} outside a {% for %} loop");
  } catch (const ContinueSignal& s) {
    throw FormatError(where(s.line) + "{% continue %} outside a {% for %} loop");
  }
  return normalize_surrogates(out, true);
}

Value Interpreter::evaluate(const Node& node, Env* env) {
  try {
    return evaluate_inner(node, env);
  } catch (const Fault& f) {
    throw FormatError(where(node.line) + f.message);
  } catch (const Raised& r) {
    throw UsageError(where(node.line) + r.message);
  }
}

void Interpreter::render_block(const std::vector<NodePtr>& statements, Env* env, std::string& out) {
  for (const NodePtr& stmt : statements) {
    try {
      switch (stmt->kind) {
        case NodeKind::Text:
          out += stmt->name;
          break;
        case NodeKind::If:
          render_block(truthy(evaluate(*stmt->a, env)) ? stmt->list : stmt->list2, env, out);
          break;
        case NodeKind::For:
          render_for(*stmt, env, out);
          break;
        case NodeKind::Set:
          execute_set(*stmt, env);
          break;
        case NodeKind::Comment:
          break;
        default: {
          const Value v = evaluate(*stmt, env);
          if (v.kind != Kind::Null && v.kind != Kind::Undefined) out += to_output(v);
        }
      }
      check_size(out);
    } catch (const Fault& f) {
      throw FormatError(where(stmt->line) + f.message);
    }
  }
}

std::string Interpreter::render_to_string(const std::vector<NodePtr>& statements, Env* env) {
  std::string out;
  render_block(statements, env, out);
  return out;
}

void Interpreter::bind_loop_variable(const Node& target, const Value& item, Env* scope) {
  if (target.kind == NodeKind::Identifier) {
    scope->vars[target.name] = item;
    return;
  }
  for (size_t j = 0; j < target.list.size(); ++j) {
    if (target.list[j]->kind != NodeKind::Identifier) {
      fault("cannot unpack into something that is not a name in a {% for %} target");
    }
    scope->vars[target.list[j]->name] =
        item.array && j < item.array->size() ? (*item.array)[j] : Value::undefined();
  }
}

void Interpreter::render_for(const Node& node, Env* env, std::string& out) {
  Env* scope = new_env(env);
  const Node* test = nullptr;
  Value iterable;
  if (node.b->kind == NodeKind::Select) {
    iterable = evaluate(*node.b->a, scope);
    test = node.b->b.get();
  } else {
    iterable = evaluate(*node.b, scope);
  }
  if (!iterable.is_array() && !iterable.is_object()) {
    fault(std::string("{% for %} needs a list or a dict to loop over, got ") +
          kind_name(iterable.kind));
  }
  Array candidates;
  if (iterable.is_object()) {
    for (const auto& entry : iterable.object->entries()) {
      candidates.push_back(Value::string(entry.first));
    }
  } else {
    candidates = *iterable.array;
  }
  const Node& target = *node.a;
  Array items;
  if (target.kind == NodeKind::Identifier && test == nullptr) {
    items = std::move(candidates);
  } else {
    for (const Value& current : candidates) {
      if (target.kind == NodeKind::Tuple) {
        // The oracle unpacks lists only: a tuple item is refused.
        if (current.kind != Kind::Array) {
          fault(std::string("cannot unpack a ") + kind_name(current.kind) + " into " +
                std::to_string(target.list.size()) + " loop variables");
        }
        if (current.array->size() != target.list.size()) {
          fault(std::string("too ") +
                (target.list.size() > current.array->size() ? "few" : "many") +
                " items to unpack: expected " + std::to_string(target.list.size()) + ", got " +
                std::to_string(current.array->size()));
        }
      }
      if (test != nullptr) {
        Env* loop_scope = new_env(scope);
        bind_loop_variable(target, current, loop_scope);
        if (!truthy(evaluate(*test, loop_scope))) continue;
      }
      items.push_back(current);
    }
  }
  // The oracle marks the loop as having iterated only after a body completes, so a loop whose
  // every iteration hit {% continue %} (or broke in the first) renders its {% else %} block.
  bool no_iteration = true;
  for (size_t i = 0; i < items.size(); ++i) {
    scope->vars["loop"] = make_loop(i, items.size(), items);
    bind_loop_variable(target, items[i], scope);
    std::string body;
    try {
      render_block(node.list, scope, body);
    } catch (const ContinueSignal&) {
      continue;
    } catch (const BreakSignal&) {
      break;
    }
    out += body;
    check_size(out);
    no_iteration = false;
  }
  if (no_iteration) render_block(node.list2, scope, out);
}

void Interpreter::execute_set(const Node& node, Env* env) {
  const Value rhs =
      node.b ? evaluate(*node.b, env) : Value::string(render_to_string(node.list, env));
  const Node& target = *node.a;
  if (target.kind == NodeKind::Identifier) {
    env->vars[target.name] = rhs;
  } else if (target.kind == NodeKind::Tuple) {
    if (!rhs.is_array()) {
      fault(std::string("cannot unpack a ") + kind_name(rhs.kind) + " in {% set %}");
    }
    if (rhs.array->size() != target.list.size()) {
      fault(std::string("too ") + (target.list.size() > rhs.array->size() ? "few" : "many") +
            " items to unpack in {% set %}: expected " + std::to_string(target.list.size()) +
            ", got " + std::to_string(rhs.array->size()));
    }
    for (size_t i = 0; i < target.list.size(); ++i) {
      if (target.list[i]->kind != NodeKind::Identifier) {
        fault("cannot unpack into something that is not a name in {% set %}");
      }
      env->vars[target.list[i]->name] = (*rhs.array)[i];
    }
  } else if (target.kind == NodeKind::Member) {
    const Value object = evaluate(*target.a, env);
    if (object.kind != Kind::Namespace) {
      fault(std::string("cannot set an attribute on a ") + kind_name(object.kind) +
            ": only namespace() objects can be changed");
    }
    if (target.b->kind != NodeKind::Identifier) {
      fault("{% set ns.attr = ... %} needs a name after the dot");
    }
    object.object->set(target.b->name, rhs);
  } else {
    fault("{% set %} can assign to a name, names, or a namespace attribute only");
  }
}

void Interpreter::bind_macro_arguments(const std::string& display_name,
                                       const std::vector<NodePtr>& params,
                                       const std::set<std::string>& special,
                                       std::vector<Value> args, Env* scope) {
  auto keywords = std::make_shared<Object>();
  if (!args.empty() && args.back().kind == Kind::KwArgs) {
    for (const auto& [k, v] : args.back().object->entries()) keywords->set(k, v);
    args.pop_back();
  }
  std::vector<std::pair<std::string, const Node*>> pending_defaults;
  for (size_t i = 0; i < params.size(); ++i) {
    const Node& p = *params[i];
    const Node* default_value = p.kind == NodeKind::KeywordArg ? p.a.get() : nullptr;
    bool have = i < args.size();
    Value value = have ? args[i] : Value::undefined();
    if (!have && keywords->get(p.name) != nullptr) {
      value = *keywords->get(p.name);
      keywords->erase(p.name);
      have = true;
    }
    if (!have && default_value != nullptr) pending_defaults.emplace_back(p.name, default_value);
    scope->vars[p.name] = value;
  }
  if (special.count("kwargs") != 0) {
    scope->vars["kwargs"] = Value::map(keywords);
  } else if (keywords->size() > 0) {
    fault("macro " + display_name + " takes no keyword argument '" +
          keywords->entries().front().first + "'");
  }
  if (special.count("varargs") != 0) {
    Array rest;
    for (size_t i = params.size(); i < args.size(); ++i) rest.push_back(args[i]);
    scope->vars["varargs"] = Value::list(std::move(rest));
  } else if (args.size() > params.size()) {
    fault("macro " + display_name + " takes not more than " + std::to_string(params.size()) +
          " argument(s), got " + std::to_string(args.size()));
  }
  for (const auto& [name, node] : pending_defaults) scope->vars[name] = evaluate(*node, scope);
}

Value Interpreter::define_macro(const Node& node, Env* env) {
  const Node* n = &node;
  env->vars[node.name] = Value::callable([this, n, env](std::vector<Value>& args, Env* site) {
    Env* parent = env;
    if (n->special.count("caller") != 0) {
      Value caller;
      if (site != nullptr && site->call_block_scope) {
        const auto it = site->vars.find("caller");
        if (it != site->vars.end()) caller = it->second;
      }
      parent = new_env(env);
      parent->vars["caller"] = caller;
    }
    Env* scope = new_env(parent);
    if (call_depth_ >= kMaxCallDepth) {
      fault("macro '" + n->name + "' calls nest deeper than " + std::to_string(kMaxCallDepth) +
            " (runaway recursion?)");
    }
    ++call_depth_;
    struct Leave {
      int* depth;
      ~Leave() { --*depth; }
    } leave{&call_depth_};
    bind_macro_arguments("'" + n->name + "'", n->list, n->special, args, scope);
    return Value::string(render_to_string(n->list2, scope));
  });
  return Value::null();
}

Value Interpreter::evaluate_call_block(const Node& node, Env* env) {
  const Node* n = &node;
  const Value caller = Value::callable([this, n, env](std::vector<Value>& args, Env*) {
    Env* call_env = new_env(env);
    if (call_depth_ >= kMaxCallDepth) fault("caller() calls nest too deep (runaway recursion?)");
    ++call_depth_;
    struct Leave {
      int* depth;
      ~Leave() { --*depth; }
    } leave{&call_depth_};
    bind_macro_arguments("None", n->list, n->special, args, call_env);
    return Value::string(render_to_string(n->list2, call_env));
  });
  auto [args, keywords] = evaluate_arguments(node.a->list, env);
  args.push_back(Value::map(keywords, Kind::KwArgs));
  const Value fn = evaluate(*node.a->a, env);
  if (fn.kind != Kind::Function) {
    fault("{% call %} needs a macro, but '" + callee_name(*node.a->a) + "' is " +
          kind_name(fn.kind));
  }
  Env* site = new_env(env);
  site->call_block_scope = true;
  site->vars["caller"] = caller;
  return (*fn.function)(args, site);
}

std::pair<std::vector<Value>, std::shared_ptr<Object>> Interpreter::evaluate_arguments(
    const std::vector<NodePtr>& args, Env* env) {
  std::vector<Value> positional;
  auto keywords = std::make_shared<Object>();
  const auto add = [&](const std::string& key, Value value) {
    if (keywords->get(key) != nullptr)
      fault("got multiple values for keyword argument '" + key + "'");
    keywords->set(key, std::move(value));
  };
  for (const NodePtr& arg : args) {
    if (arg->kind == NodeKind::Spread) {
      const Value v = evaluate(*arg->a, env);
      if (!v.is_array()) fault(std::string("cannot unpack a ") + kind_name(v.kind) + " with '*'");
      positional.insert(positional.end(), v.array->begin(), v.array->end());
    } else if (arg->kind != NodeKind::KeywordArg && arg->kind != NodeKind::KeywordSpread) {
      positional.push_back(evaluate(*arg, env));
    }
  }
  for (const NodePtr& arg : args) {
    if (arg->kind == NodeKind::KeywordArg) {
      add(arg->name, evaluate(*arg->a, env));
    } else if (arg->kind == NodeKind::KeywordSpread) {
      const Value v = evaluate(*arg->a, env);
      if (!v.is_object()) fault(std::string("'**' needs a dict, got ") + kind_name(v.kind));
      for (const auto& [k, item] : v.object->entries()) add(k, item);
    }
  }
  return {std::move(positional), keywords};
}

std::vector<Value> Interpreter::evaluate_call_arguments(const std::vector<NodePtr>& args,
                                                        Env* env) {
  for (const NodePtr& arg : args) {
    if (arg->kind == NodeKind::KeywordArg || arg->kind == NodeKind::Spread ||
        arg->kind == NodeKind::KeywordSpread) {
      auto [positional, keywords] = evaluate_arguments(args, env);
      if (keywords->size() > 0) positional.push_back(Value::map(keywords, Kind::KwArgs));
      return std::move(positional);
    }
  }
  std::vector<Value> positional;
  for (const NodePtr& arg : args) positional.push_back(evaluate(*arg, env));
  return positional;
}

Value Interpreter::evaluate_inner(const Node& node, Env* env) {
  switch (node.kind) {
    case NodeKind::Identifier:
      return lookup(node.name, env);
    case NodeKind::Integer:
      return Value::integer(node.number);
    case NodeKind::Float:
      return Value::floating(node.number);
    case NodeKind::String:
    case NodeKind::Text:
      return Value::string(node.name);
    case NodeKind::Binary:
      return evaluate_binary(node, env);
    case NodeKind::Member:
      return evaluate_member(node, env);
    case NodeKind::Call: {
      std::vector<Value> args = evaluate_call_arguments(node.list, env);
      const Value fn = evaluate(*node.a, env);
      if (fn.kind != Kind::Function) {
        fault("cannot call '" + callee_name(*node.a) + "': it is " +
              (fn.kind == Kind::Undefined ? std::string("undefined (no such function or method)")
                                          : std::string("a ") + kind_name(fn.kind)));
      }
      return (*fn.function)(args, env);
    }
    case NodeKind::FilterExpr: {
      const Value operand = evaluate(*node.a, env);
      Value result = apply_filter(*this, operand, *node.b, env);
      if (result.kind == Kind::String) check_size(result.text);
      return result;
    }
    case NodeKind::Test: {
      const Value operand = evaluate(*node.a, env);
      bool known = true;
      const bool result = run_test(node.name, operand, nullptr, &known);
      if (!known) {
        fault("unsupported test 'is " + node.name +
              "' (supported: boolean, callable, odd, even, false, true, none, string, number, "
              "integer, iterable, mapping, sequence, lower, upper, defined, undefined)");
      }
      return Value::of_bool(node.flag ? !result : result);
    }
    case NodeKind::Ternary:
      return truthy(evaluate(*node.a, env)) ? evaluate(*node.b, env) : evaluate(*node.c, env);
    case NodeKind::Unary: {
      const Value arg = evaluate(*node.a, env);
      if (node.name == "not") return Value::of_bool(!truthy(arg));
      if (!numeric_like(arg)) {
        fault("unary '" + node.name + "' needs a number, got a " +
              std::string(kind_name(arg.kind)));
      }
      const double v = (node.name == "-" ? -1 : 1) * numeric_value(arg);
      return arg.kind == Kind::Float ? Value::floating(v) : Value::integer(v);
    }
    case NodeKind::Array:
    case NodeKind::Tuple: {
      Array items;
      for (const NodePtr& item : node.list) items.push_back(evaluate(*item, env));
      return Value::list(std::move(items),
                         node.kind == NodeKind::Array ? Kind::Array : Kind::Tuple);
    }
    case NodeKind::Object: {
      auto object = std::make_shared<Object>();
      for (size_t i = 0; i < node.list.size(); ++i) {
        const Value key = evaluate(*node.list[i], env);
        if (key.kind != Kind::String) {
          fault(std::string("dict keys must be strings, got a ") + kind_name(key.kind));
        }
        object->set(key.text, evaluate(*node.list2[i], env));
      }
      return Value::map(object);
    }
    case NodeKind::Select:
      return truthy(evaluate(*node.b, env)) ? evaluate(*node.a, env) : Value::undefined();
    case NodeKind::If:
    case NodeKind::For: {
      std::vector<NodePtr> one{std::make_shared<Node>(node)};
      return Value::string(render_to_string(one, env));
    }
    case NodeKind::Set:
      execute_set(node, env);
      return Value::null();
    case NodeKind::Macro:
      return define_macro(node, env);
    case NodeKind::CallBlock:
      return evaluate_call_block(node, env);
    case NodeKind::FilterBlock: {
      const Value rendered = Value::string(render_to_string(node.list, env));
      return apply_filter(*this, rendered, *node.a, env);
    }
    case NodeKind::Comment:
      return Value::null();
    case NodeKind::Break:
      throw BreakSignal{node.line};
    case NodeKind::Continue:
      throw ContinueSignal{node.line};
    default:
      fault("this expression cannot stand here");
  }
}

}  // namespace elarin::jinja
