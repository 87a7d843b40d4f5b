// posix_spawnp with file actions for the three standard streams, and an EINTR-safe waitpid.
#include "elarin/core/subprocess.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

// Adds the file action that points the child's `target` (0, 1 or 2) at `r`.
void add_redirect(posix_spawn_file_actions_t& actions, int target, const Redirect& r) {
  const int write_flags = O_WRONLY | O_CREAT | O_TRUNC;
  switch (r.kind) {
    case Redirect::Kind::kInherit:
      return;
    case Redirect::Kind::kNull:
      posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                       target == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0);
      return;
    case Redirect::Kind::kFile:
      posix_spawn_file_actions_addopen(&actions, target, r.path.c_str(),
                                       target == STDIN_FILENO ? O_RDONLY : write_flags, 0644);
      return;
    case Redirect::Kind::kFd:
      posix_spawn_file_actions_adddup2(&actions, r.fd, target);
      return;
    case Redirect::Kind::kStdout:
      if (target != STDERR_FILENO) throw UsageError("Redirect::to_stdout applies to stderr only");
      posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
      return;
  }
}

}  // namespace

pid_t spawn_program(const std::vector<std::string>& argv, const Stdio& stdio,
                    const std::string& missing_hint) {
  if (argv.empty()) throw UsageError("spawn_program: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  pid_t pid = 0;
  int err = 0;
  try {
    add_redirect(actions, STDIN_FILENO, stdio.in);
    add_redirect(actions, STDOUT_FILENO, stdio.out);
    add_redirect(actions, STDERR_FILENO, stdio.err);
    err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  if (err == ENOENT)
    throw Error("'" + argv[0] + "' not found in PATH" +
                (missing_hint.empty() ? "" : ": " + missing_hint));
  if (err != 0) throw Error("cannot start '" + argv[0] + "': " + errno_message(err));
  return pid;
}

int wait_program(pid_t pid, const std::string& program) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error("waitpid for '" + program + "': " + errno_message(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_program(const std::vector<std::string>& argv, const Stdio& stdio,
                const std::string& missing_hint) {
  const pid_t pid = spawn_program(argv, stdio, missing_hint);  // throws on an empty argv
  return wait_program(pid, argv[0]);
}

}  // namespace elarin
