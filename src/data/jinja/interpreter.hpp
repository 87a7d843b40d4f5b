// The tree-walking interpreter: scopes, statements, expressions and operators with
// @huggingface/jinja 0.5.13's semantics. Leaves out filters, tests and methods
// (filters.cpp, builtins.cpp).
#pragma once

#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/jinja/ast.hpp"
#include "data/jinja/value.hpp"

namespace elarin::jinja {

// One scope. Every scope also sees the `namespace` builtin as its own variable (the oracle
// declares it in each Environment).
struct Env {
  Env* parent = nullptr;
  std::unordered_map<std::string, Value> vars;
  bool call_block_scope = false;  // the scope a {% call %} passes to its macro
};

// Renders one template once; each render builds its own interpreter, so a parsed template
// can be rendered from many threads.
class Interpreter {
 public:
  explicit Interpreter(const std::string& origin);

  // Renders `program` with the globals and the top-level keys of `context` (a JSON object).
  std::string run(const std::vector<NodePtr>& program, const nlohmann::ordered_json& context);

  Value evaluate(const Node& node, Env* env);
  // Positional arguments (with *spread) and keyword arguments (with **spread).
  std::pair<std::vector<Value>, std::shared_ptr<Object>> evaluate_arguments(
      const std::vector<NodePtr>& args, Env* env);
  // The FunctionValue calling convention: positionals, then one KwArgs if any keywords.
  std::vector<Value> evaluate_call_arguments(const std::vector<NodePtr>& args, Env* env);
  Env* new_env(Env* parent);

 private:
  Value evaluate_inner(const Node& node, Env* env);
  void render_block(const std::vector<NodePtr>& statements, Env* env, std::string& out);
  std::string render_to_string(const std::vector<NodePtr>& statements, Env* env);
  void render_for(const Node& node, Env* env, std::string& out);
  void execute_set(const Node& node, Env* env);
  void bind_loop_variable(const Node& target, const Value& item, Env* scope);
  void bind_macro_arguments(const std::string& display_name, const std::vector<NodePtr>& params,
                            const std::set<std::string>& special, std::vector<Value> args,
                            Env* scope);
  Value define_macro(const Node& node, Env* env);
  Value evaluate_call_block(const Node& node, Env* env);
  Value evaluate_binary(const Node& node, Env* env);
  Value evaluate_member(const Node& node, Env* env);
  Value evaluate_slice(const Value& object, const Node& slice, Env* env);
  Value lookup(const std::string& name, Env* env) const;
  std::string where(int line) const;

  const std::string& origin_;
  std::deque<Env> envs_;
  Value namespace_builtin_;
  int call_depth_ = 0;
};

// filters.cpp: `operand | filter` where filter is an Identifier or a Call node.
Value apply_filter(Interpreter& interp, const Value& operand, const Node& filter, Env* env);
// builtins.cpp: `value.name` for non-dict values and dict methods (get, items, ...);
// Undefined when there is none.
Value builtin_member(const Value& object, const std::string& name);
// builtins.cpp: `is name` (`argument`: the value of equalto/eq, from selectattr); *known is
// false when the test does not exist.
bool run_test(const std::string& name, const Value& operand, const Value* argument, bool* known);
bool has_test(const std::string& name);
// builtins.cpp: the globals (range, namespace, raise_exception, strftime_now, true, ...).
void install_globals(Env* global);
Value make_namespace_builtin();
// Refuses strings past the engine's size limit (a runaway `x ~ x` loop).
void check_size(const std::string& text);

}  // namespace elarin::jinja
