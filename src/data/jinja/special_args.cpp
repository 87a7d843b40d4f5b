// Which of a macro's special arguments (caller, kwargs, varargs) its body reads: a port of
// @huggingface/jinja 0.5.13's findAccessedSpecialMacroArguments. Leaves out binding them.
#include "data/jinja/parser.hpp"

namespace elarin::jinja {
namespace {

bool is_special(const std::string& name) {
  return name == "caller" || name == "kwargs" || name == "varargs";
}

// findAccessedSpecialMacroArguments: which of caller/kwargs/varargs a macro (or call block)
// body reads before declaring it; only those are bound when it is called.
class SpecialArgs {
 public:
  std::set<std::string> accessed;

  void declare_parameter(const NodePtr& p) {
    declare(p->kind == NodeKind::Identifier ? p->name : p->name);
  }
  void visit_defaults(const std::vector<NodePtr>& params) {
    for (const NodePtr& p : params) {
      if (p->kind == NodeKind::KeywordArg) visit(p->a);
    }
  }
  void visit(const std::vector<NodePtr>& nodes) {
    for (const NodePtr& n : nodes) visit(n);
  }

  void visit(const NodePtr& n) {
    if (!n) return;
    switch (n->kind) {
      case NodeKind::For:
        declare_target(n->a);
        if (n->b->kind == NodeKind::Select) {
          visit(n->b->a);
          visit(n->list);
          visit(n->list2);
          visit(n->b->b);
          return;
        }
        visit(n->b);
        visit(n->list);
        visit(n->list2);
        return;
      case NodeKind::Set:
        declare_target(n->a);
        visit(n->b);
        visit(n->list);
        return;
      case NodeKind::Macro:
        for (const NodePtr& p : n->list) declare_parameter(p);
        visit_defaults(n->list);
        visit(n->list2);
        return;
      case NodeKind::CallBlock:
        visit(n->a);
        for (const NodePtr& p : n->list) declare_parameter(p);
        visit_defaults(n->list);
        visit(n->list2);
        return;
      case NodeKind::FilterBlock:
        visit(n->list);
        visit_filter(n->a);
        return;
      case NodeKind::Identifier:
        if (is_special(n->name) && declared_.count(n->name) == 0) accessed.insert(n->name);
        return;
      case NodeKind::Member:
        visit(n->a);
        if (n->flag) visit(n->b);
        return;
      case NodeKind::FilterExpr:
        visit(n->a);
        visit_filter(n->b);
        return;
      case NodeKind::Test:
        visit(n->a);
        return;
      case NodeKind::Select:
        visit(n->b);
        visit(n->a);
        return;
      case NodeKind::KeywordArg:
        visit(n->a);
        return;
      case NodeKind::Object:
        for (size_t i = 0; i < n->list.size(); ++i) {
          visit(n->list[i]);
          visit(n->list2[i]);
        }
        return;
      default:
        visit(n->a);
        visit(n->b);
        visit(n->c);
        visit(n->list);
        visit(n->list2);
    }
  }

 private:
  void declare(const std::string& name) {
    if (is_special(name)) declared_.insert(name);
  }
  void declare_target(const NodePtr& t) {
    if (t->kind == NodeKind::Identifier) declare(t->name);
    if (t->kind == NodeKind::Tuple) {
      for (const NodePtr& item : t->list) declare_target(item);
    }
  }
  void visit_filter(const NodePtr& f) {
    if (f->kind == NodeKind::Call) visit(f->list);
  }

  std::set<std::string> declared_;
};

}  // namespace

std::set<std::string> special_arguments(const std::vector<NodePtr>& params,
                                        const std::vector<NodePtr>& body) {
  SpecialArgs walk;
  for (const NodePtr& p : params) walk.declare_parameter(p);
  walk.visit(body);
  return walk.accessed;
}

}  // namespace elarin::jinja
