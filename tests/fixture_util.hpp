// Shared helpers of the parity tests against ../shared/fixtures: locating a fixture directory
// and llm.c-style tensor comparison that prints the max abs difference.
//
//   std::string dir;
//   if (!elarin::test::find_fixture("gpt2-tiny", &dir)) GTEST_SKIP() << dir;  // dir = reason
//   EXPECT_TRUE(elarin::test::check_tensor("logits", got, want, 1e-4));
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <sys/stat.h>

namespace elarin {
namespace test {

// Root of the fixtures: $ELARIN_FIXTURES, else <source>/../shared/fixtures.
inline std::string fixtures_root() {
  const char* env = std::getenv("ELARIN_FIXTURES");
  if (env != nullptr && *env != '\0') return env;
  return std::string(ELARIN_SOURCE_DIR) + "/../shared/fixtures";
}

// True and `*out` = the fixture directory when it has config.json; otherwise false and
// `*out` = a reason for GTEST_SKIP().
inline bool find_fixture(const std::string& name, std::string* out) {
  const std::string dir = fixtures_root() + "/" + name;
  struct stat st {};
  if (::stat((dir + "/config.json").c_str(), &st) != 0) {
    *out = "fixture '" + name + "' not found at " + dir +
           " (set ELARIN_FIXTURES to the fixtures directory)";
    return false;
  }
  *out = dir;
  return true;
}

// Same shape, and max |got - want| <= tol; prints the max difference either way.
inline ::testing::AssertionResult check_tensor(const std::string& label, const torch::Tensor& got,
                                               const torch::Tensor& want, double tol) {
  if (got.sizes() != want.sizes()) {
    std::ostringstream msg;
    msg << label << ": shape " << got.sizes() << ", expected " << want.sizes();
    return ::testing::AssertionFailure() << msg.str();
  }
  const double max_diff =
      (got.detach().to(torch::kCPU, torch::kDouble) - want.to(torch::kCPU, torch::kDouble))
          .abs()
          .max()
          .item<double>();
  std::printf("  %-28s max abs diff %.3e  (tol %.0e)  %s\n", label.c_str(), max_diff, tol,
              max_diff <= tol ? "OK" : "NOT OK");
  if (max_diff <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << label << ": max abs diff " << max_diff << " > " << tol;
}

}  // namespace test
}  // namespace elarin
