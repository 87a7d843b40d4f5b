// Helpers shared by the unit tests: a scratch directory removed at scope exit, and the
// message of an expected exception.
//
//   elarin::test::TempDir dir;                       // /tmp/elarin-test-XXXXXX
//   auto msg = elarin::test::error_message<elarin::FormatError>([&] { read_idx(bad); });
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace elarin::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/elarin-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// A path under the temp directory named after `name` and this process, not yet existing
// (for writers that must create their own directory).
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("elarin_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

// Runs `fn` and returns the message of the `E` it throws; a test failure if it throws none.
template <class E, class F>
std::string error_message(F fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

}  // namespace elarin::test
