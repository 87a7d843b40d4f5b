// The one lookup of every registry table (regions, expert types, learning rules, zones,
// activations, Hugging Face architectures): the entry whose `.name` is the name asked for, or
// a UsageError in one shape everywhere. Leaves out the tables themselves.
//
//   struct Op {
//     std::string name;  // what find_named compares
//     int arity;
//   };
//   const std::vector<Op> ops = {{"neg", 1}, {"add", 2}};
//   const Op& add = elarin::find_named(ops, "add", "operation");
//   // find_named(ops, "mul", "operation") throws UsageError:
//   //   unknown operation 'mul': expected one of neg, add
//   const Op* mul = elarin::try_find_named(ops, "mul");  // nullptr: no such entry
#pragma once

#include <iterator>
#include <string>
#include <vector>

#include "elarin/core/errors.hpp"

namespace elarin {

// The `.name` of every entry, in table order (names held as std::string or const char*).
template <typename Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.name);
  return names;
}

// "a, b, c".
inline std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "unknown <what> '<name>': expected one of a, b, c": the message of every failed lookup.
inline std::string unknown_name_message(const std::string& what, const std::string& name,
                                        const std::vector<std::string>& names) {
  return "unknown " + what + " '" + name + "': expected one of " + join_names(names);
}

// The entry named `name`, nullptr when there is none.
template <typename Table>
auto try_find_named(const Table& table, const std::string& name) -> decltype(&*std::begin(table)) {
  for (const auto& entry : table)
    if (name == entry.name) return &entry;
  return nullptr;
}

// The entry named `name`; UsageError listing the valid names when there is none.
template <typename Table>
const auto& find_named(const Table& table, const std::string& name, const std::string& what) {
  if (const auto* entry = try_find_named(table, name)) return *entry;
  throw UsageError(unknown_name_message(what, name, names_of(table)));
}

}  // namespace elarin
