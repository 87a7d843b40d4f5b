// core/subprocess: exit statuses, signals, the three redirections, and the errors that name
// the program. Runs /bin/sh, which every supported system has.
#include "elarin/core/subprocess.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {

using elarin::Redirect;
using elarin::Stdio;

TEST(Subprocess, ReturnsTheExitStatusOr128PlusTheSignal) {
  EXPECT_EQ(elarin::run_program({"sh", "-c", "exit 0"}, {}), 0);
  EXPECT_EQ(elarin::run_program({"sh", "-c", "exit 3"}, {}), 3);
  EXPECT_EQ(elarin::run_program({"sh", "-c", "kill -9 $$"}, {}), 128 + 9);
}

TEST(Subprocess, ArgumentsReachTheProgramUnquoted) {
  elarin::test::TempDir dir;
  const std::string out = dir.path + "/out.txt";
  // A shell would split and expand these; posix_spawnp hands them over as they are.
  const int code =
      elarin::run_program({"sh", "-c", "printf '%s|' \"$@\"", "sh", "a b", "$HOME", "*"},
                          {Redirect::null(), Redirect::file(out), Redirect::null()});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(elarin::read_file(out), "a b|$HOME|*|");
}

TEST(Subprocess, RedirectsStdinFromADescriptorAndStderrWithStdout) {
  elarin::test::TempDir dir;
  const std::string log = dir.path + "/log.txt";
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const pid_t pid = elarin::spawn_program(
      {"sh", "-c", "cat; echo oops >&2"},
      {Redirect::descriptor(fds[0]), Redirect::file(log), Redirect::to_stdout()});
  ::close(fds[0]);
  ASSERT_EQ(::write(fds[1], "piped\n", 6), 6);
  ::close(fds[1]);
  EXPECT_EQ(elarin::wait_program(pid, "sh"), 0);
  EXPECT_EQ(elarin::read_file(log), "piped\noops\n");
}

TEST(Subprocess, StdinFromNullReadsNothing) {
  elarin::test::TempDir dir;
  const std::string out = dir.path + "/out.txt";
  EXPECT_EQ(elarin::run_program({"sh", "-c", "wc -c"},
                                {Redirect::null(), Redirect::file(out), Redirect::null()}),
            0);
  EXPECT_EQ(std::stoi(elarin::read_file(out)), 0);
}

TEST(Subprocess, AMissingProgramIsNamedWithTheHint) {
  const std::string msg = elarin::test::error_message<elarin::Error>([] {
    elarin::run_program({"elarin-no-such-program", "--x"}, {}, "install it with `apt-get`");
  });
  EXPECT_EQ(msg, "'elarin-no-such-program' not found in PATH: install it with `apt-get`");
  EXPECT_THROW(elarin::run_program({}, {}), elarin::UsageError);
  EXPECT_THROW(elarin::run_program({"sh"}, {Redirect::to_stdout(), {}, {}}), elarin::UsageError);
}

TEST(Subprocess, WaitingForANonChildNamesTheProgram) {
  const std::string msg =
      elarin::test::error_message<elarin::Error>([] { elarin::wait_program(1, "init"); });
  EXPECT_NE(msg.find("waitpid for 'init'"), std::string::npos) << msg;
}

}  // namespace
