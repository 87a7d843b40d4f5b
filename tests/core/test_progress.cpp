// Progress text (percentage, bar, rate, ETA) and the bar's silence when stderr is no terminal.
#include "elarin/core/progress.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "elarin/core/logging.hpp"

namespace {

using elarin::format_duration;
using elarin::format_progress;
using elarin::format_rate;

TEST(Progress, FormatShowsPercentBarCountsRateAndEta) {
  // 370 of 1000 in 0.3 s: 1233 it/s, 630 left -> 0.51 s -> "0:01".
  EXPECT_EQ(format_progress(370, 1000, 0.3, 10, "train"),
            "train  37% [###.......] 370/1000  1.2k it/s  ETA 0:01");
  // 500 of 1000 in 10 s: 50 it/s, 10 s left.
  EXPECT_EQ(format_progress(500, 1000, 10, 4, "", "img"),
            " 50% [##..] 500/1000  50.0 img/s  ETA 0:10");
  // 1 of 3601 in 1 s: one hour left.
  EXPECT_EQ(format_progress(1, 3601, 1, 0), "  0% 1/3601  1.00 it/s  ETA 1:00:00");
}

TEST(Progress, FinishedWorkShowsElapsedInsteadOfEta) {
  EXPECT_EQ(format_progress(1000, 1000, 4.2, 5, "eval"),
            "eval 100% [#####] 1000/1000  238 it/s  in 0:04");
  // Overshoot (a last partial batch counted whole) keeps the bar full, not wider.
  EXPECT_EQ(format_progress(1100, 1000, 2, 5), "100% [#####] 1100/1000  550 it/s  in 0:02");
}

TEST(Progress, PercentIsFlooredSo100MeansDone) {
  EXPECT_EQ(format_progress(999, 1000, 1, 0).substr(0, 4), " 99%");
  EXPECT_EQ(format_progress(0, 1000, 1, 3).substr(0, 9), "  0% [...");
}

TEST(Progress, UnknownTotalShowsCountAndRateOnly) {
  EXPECT_EQ(format_progress(370, 0, 2, 10, "read"), "read 370  185 it/s");
  EXPECT_EQ(format_progress(5, -1, 0, 10), "5  ? it/s");
}

TEST(Progress, NoElapsedTimeGivesUnknownRateAndEta) {
  EXPECT_EQ(format_progress(0, 10, 0, 0), "  0% 0/10  ? it/s  ETA ?");
  EXPECT_EQ(format_progress(0, 10, 5, 0), "  0% 0/10  0.00 it/s  ETA ?");
}

TEST(Progress, RatesScaleWithSiSuffixes) {
  EXPECT_EQ(format_rate(0.5), "0.50");
  EXPECT_EQ(format_rate(12.34), "12.3");
  EXPECT_EQ(format_rate(370), "370");
  EXPECT_EQ(format_rate(999.4), "999");
  EXPECT_EQ(format_rate(999.6), "1.0k");  // never "1000"
  EXPECT_EQ(format_rate(1234), "1.2k");
  EXPECT_EQ(format_rate(123456), "123k");
  EXPECT_EQ(format_rate(45.6e6), "45.6M");
  EXPECT_EQ(format_rate(-1), "?");
  EXPECT_EQ(format_rate(NAN), "?");
}

TEST(Progress, DurationsUseMinutesThenHours) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(4.4), "0:04");
  EXPECT_EQ(format_duration(727), "12:07");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(100 * 3600), "100:00:00");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(NAN), "?");
  EXPECT_EQ(format_duration(1e12), "?");
}

TEST(Progress, WithoutTerminalDrawsNothingAndLogsOneSummary) {
  testing::internal::CaptureStderr();  // stderr becomes a file: isatty() is false
  {
    elarin::ProgressBar bar(100, "load");
    EXPECT_FALSE(bar.drawing());
    for (int i = 0; i < 100; ++i) bar.update();
    EXPECT_EQ(bar.done(), 100);
    bar.finish();
    bar.finish();  // idempotent
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("load 100% 100/100"), std::string::npos) << err;
  EXPECT_NE(err.find(" in 0:00"), std::string::npos) << err;
}

TEST(Progress, QuietPrintsNothing) {
  elarin::set_quiet(true);
  testing::internal::CaptureStderr();
  {
    elarin::ProgressBar bar(10, "quiet");
    bar.update(10);
    bar.finish();
  }
  const std::string err = testing::internal::GetCapturedStderr();
  elarin::set_quiet(false);
  EXPECT_EQ(err, "");
}

}  // namespace
