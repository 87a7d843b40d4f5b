// Log lines: "HH:MM:SS message" on stderr, a level word only for warnings and errors, and
// --quiet dropping info but not warnings.
#include "elarin/core/logging.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace {

// The sink decides on colors when it is created; if the test runs on a terminal the captured
// text may carry escape codes, which are not what these tests are about.
std::string strip_ansi(const std::string& s) {
  return std::regex_replace(s, std::regex("\x1b\\[[0-9;]*[A-Za-z]"), "");
}

TEST(Log, InfoLineHasShortTimestampAndNoLevelWord) {
  testing::internal::CaptureStderr();
  elarin::log_info("loaded {} images from '{}'", 60000, "mnist");
  const std::string err = strip_ansi(testing::internal::GetCapturedStderr());
  EXPECT_TRUE(std::regex_match(err, std::regex("\\d\\d:\\d\\d:\\d\\d loaded 60000 images from "
                                               "'mnist'\n")))
      << err;
}

TEST(Log, WarningsAndErrorsSayWhatTheyAre) {
  testing::internal::CaptureStderr();
  elarin::log_warn("no GPU, using {} threads", 2);
  elarin::log_error("cannot open '{}'", "x.safetensors");
  const std::string err = strip_ansi(testing::internal::GetCapturedStderr());
  EXPECT_TRUE(std::regex_match(err, std::regex("\\d\\d:\\d\\d:\\d\\d warning: no GPU, using 2 "
                                               "threads\n\\d\\d:\\d\\d:\\d\\d error: cannot open "
                                               "'x.safetensors'\n")))
      << err;
}

TEST(Log, QuietDropsInfoButKeepsWarnings) {
  elarin::set_quiet(true);
  EXPECT_TRUE(elarin::is_quiet());
  testing::internal::CaptureStderr();
  elarin::log_info("chatter");
  elarin::log_warn("important");
  const std::string err = strip_ansi(testing::internal::GetCapturedStderr());
  elarin::set_quiet(false);
  EXPECT_FALSE(elarin::is_quiet());
  EXPECT_EQ(err.find("chatter"), std::string::npos) << err;
  EXPECT_NE(err.find("warning: important"), std::string::npos) << err;
}

TEST(Log, LineErasesALiveProgressBarFirst) {
  testing::internal::CaptureStderr();
  elarin::set_progress_line_live(true);
  elarin::log_info("between");
  elarin::set_progress_line_live(false);
  elarin::log_info("after");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.rfind("\r\x1b[K", 0), 0u) << err;
  EXPECT_EQ(err.find('\r', 1), std::string::npos) << err;
}

}  // namespace
