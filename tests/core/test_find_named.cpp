// core/find_named: the one registry lookup and its one message shape, over tables that hold
// names as const char* (constexpr arrays) or std::string (vectors).
#include "elarin/core/find_named.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

struct CharRow {
  const char* name;
  int value;
};
constexpr CharRow kRows[] = {{"hebbian", 1}, {"oja", 2}, {"three_factor", 3}};

struct StringRow {
  std::string name;
  int value;
};

TEST(FindNamed, FindsTheEntryOfArraysAndVectors) {
  EXPECT_EQ(elarin::find_named(kRows, "oja", "learning rule").value, 2);
  EXPECT_EQ(&elarin::find_named(kRows, "hebbian", "learning rule"), &kRows[0]);
  const std::vector<StringRow> table = {{"mlp", 10}, {"swiglu", 20}};
  EXPECT_EQ(elarin::find_named(table, "swiglu", "expert type").value, 20);
  EXPECT_EQ(elarin::try_find_named(table, "rnn"), nullptr);
  EXPECT_EQ(elarin::try_find_named(kRows, "oja"), &kRows[1]);
  EXPECT_EQ(elarin::names_of(table), (std::vector<std::string>{"mlp", "swiglu"}));
}

TEST(FindNamed, AnUnknownNameIsAUsageErrorListingTheValidOnes) {
  const std::string msg = elarin::test::error_message<elarin::UsageError>(
      [] { elarin::find_named(kRows, "stdp", "learning rule"); });
  EXPECT_EQ(msg, "unknown learning rule 'stdp': expected one of hebbian, oja, three_factor");
  EXPECT_EQ(elarin::unknown_name_message("gpt2 output", "x", {"pooled"}),
            "unknown gpt2 output 'x': expected one of pooled");
}

}  // namespace
