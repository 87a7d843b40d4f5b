// Starting a program by argv (posix_spawnp: no shell, no quoting) with its stdin, stdout and
// stderr redirected, and waiting for it. Leaves out making pipes (the caller's), changing the
// environment, process groups and timeouts (brain/corpus_callosum forks its regions itself).
//
//   #include <unistd.h>
//   using elarin::Redirect;
//   int code = elarin::run_program({"espeak-ng", "-w", "out.wav", "hello"},
//                                  {Redirect::null(), Redirect::null(), Redirect::file("log")},
//                                  "install it with `sudo apt-get install espeak-ng`");
//   int fds[2];
//   if (::pipe(fds) != 0) return;
//   const std::vector<std::string> argv = {"spm_train", "--input=/dev/stdin"};
//   pid_t pid = elarin::spawn_program(
//       argv, {Redirect::descriptor(fds[0]), Redirect::file("log"), Redirect::to_stdout()});
//   int status = elarin::wait_program(pid, argv[0]);  // exit status, 128 + signal if killed
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace elarin {

// Where one of the child's standard streams goes.
struct Redirect {
  enum class Kind { kInherit, kNull, kFile, kFd, kStdout };
  Kind kind = Kind::kInherit;
  std::string path;  // kFile: read for stdin; otherwise created or truncated, mode 0644
  int fd = -1;       // kFd: an open descriptor of this process, e.g. a pipe's read end

  static Redirect inherit() { return {}; }
  static Redirect null() { return {Kind::kNull, "", -1}; }  // /dev/null
  static Redirect file(std::string path) { return {Kind::kFile, std::move(path), -1}; }
  static Redirect descriptor(int fd) { return {Kind::kFd, "", fd}; }
  static Redirect to_stdout() { return {Kind::kStdout, "", -1}; }  // stderr only: with stdout
};

// The child's stdin, stdout and stderr.
struct Stdio {
  Redirect in, out, err;
};

// Starts argv[0], looked up in PATH, with `argv`. Throws Error naming the program when it
// cannot start; when it is not in PATH the message adds `missing_hint` (e.g. how to install it).
pid_t spawn_program(const std::vector<std::string>& argv, const Stdio& stdio,
                    const std::string& missing_hint = "");

// Waits for `pid` (through EINTR); its exit status, 128 + the signal if a signal ended it.
// `program` names it in the Error thrown when waitpid fails.
int wait_program(pid_t pid, const std::string& program);

// spawn_program, then wait_program.
int run_program(const std::vector<std::string>& argv, const Stdio& stdio,
                const std::string& missing_hint = "");

}  // namespace elarin
