// Runs the built `elarin` binary with arguments and captures stdout, stderr and exit code.
//
//   auto r = elarin::test::run_elarin({"--version"});
//   EXPECT_EQ(r.code, 0);
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace elarin::test {

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
  // The last non-empty line of stdout (where --json puts its object).
  std::string last_line() const {
    std::istringstream in(out);
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty()) last = line;
    }
    return last;
  }
  // The last `lines` lines of stderr: a failing test's message shows the error that ended
  // the run, not a page of resolved config (CI keeps only part of a long log).
  std::string err_tail(size_t lines = 12) const {
    size_t pos = err.size();
    while (pos > 0 && err[pos - 1] == '\n') --pos;
    for (size_t k = 0; k < lines && pos > 0; ++k) {
      pos = err.rfind('\n', pos - 1);
      if (pos == std::string::npos) return err;
    }
    return pos == 0 ? err : "[...]\n" + err.substr(pos + 1);
  }
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline RunResult run_elarin(const std::vector<std::string>& args) {
  static int n = 0;
  const std::string base =
      "/tmp/elarin_run_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  std::string cmd = shell_quote(ELARIN_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + base + ".out 2>" + base + ".err";
  RunResult r;
  int status = std::system(cmd.c_str());
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

}  // namespace elarin::test
