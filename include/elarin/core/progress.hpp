// A one-line progress bar for long work, drawn on stderr with '\r' only when stderr is a
// terminal and not --quiet. Leaves out nested bars and multi-thread updates.
//
//   elarin::ProgressBar bar(/*total=*/938, "epoch 3");
//   for (int batch = 0; batch < 938; ++batch) bar.update();
//   bar.finish();  // "epoch 3 100% [####] 938/938  212 it/s  in 0:04"
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace elarin {

// One progress line, without '\r' or colors:
//   "train  37% [###.......] 370/1000  1.2k it/s  ETA 0:01"
// total <= 0 means unknown: no percentage, bar or ETA ("train 370  1.2k it/s").
// bar_width 0 leaves the bar out. Once done >= total the ETA becomes "in <elapsed>".
// Rates use k/M/G above 1000; times are M:SS, or H:MM:SS from one hour.
std::string format_progress(int64_t done, int64_t total, double elapsed_s, int bar_width,
                            std::string_view label = {}, std::string_view unit = "it");

// "0:04", "12:07", "1:02:03"; "?" for negative, NaN or absurd (> 10^7 s) values.
std::string format_duration(double seconds);

// "0.50", "12.3", "370", "1.2k", "45.6M".
std::string format_rate(double per_second);

class ProgressBar {
 public:
  // Decides once whether to draw: stderr is a TTY and is_quiet() is false.
  explicit ProgressBar(int64_t total, std::string label = {}, std::string unit = "it");
  // Ends a drawn line with a newline but prints no summary: an exception may be unwinding.
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Adds n to the count; redraws at most every 100 ms.
  void update(int64_t n = 1);
  // Sets the count (for work measured in bytes or tokens rather than steps).
  void set(int64_t done);
  // Draws the final line and moves to the next one; without a terminal (and not quiet),
  // logs one summary line instead. Idempotent.
  void finish();

  int64_t done() const { return done_; }
  bool drawing() const { return drawing_; }

 private:
  using Clock = std::chrono::steady_clock;
  void maybe_draw();
  void draw(Clock::time_point now, bool final_line);

  int64_t total_;
  int64_t done_ = 0;
  std::string label_;
  std::string unit_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  bool drawing_;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace elarin
