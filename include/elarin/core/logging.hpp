// Human log lines on stderr ("14:02:07 loaded 60000 images", "14:02:07 warning: ..."), a thin
// layer over spdlog. Leaves out log files and levels below info: metrics go to MetricsLog.
//
//   int epoch = 3;
//   double loss = 0.3141;
//   elarin::log_info("epoch {} done: loss {:.4f}", epoch, loss);
//   elarin::log_warn("no GPU found; running on CPU");
//   elarin::set_quiet(true);  // --quiet: info lines and progress bars are dropped
#pragma once

#include <spdlog/spdlog.h>

#include <utility>

namespace elarin {

// The process-wide stderr logger (thread-safe, colored only on a TTY).
spdlog::logger& logger();

// Quiet drops info lines (and progress bars); warnings and errors still print.
void set_quiet(bool quiet);
bool is_quiet();

// Formatting happens in spdlog's stack buffer and only when the level is on, so a disabled
// log_info in a loop costs one level check.
template <typename... Args>
void log_info(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger().info(fmt, std::forward<Args>(args)...);
}

template <typename... Args>
void log_warn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger().warn(fmt, std::forward<Args>(args)...);
}

template <typename... Args>
void log_error(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger().error(fmt, std::forward<Args>(args)...);
}

// Set by ProgressBar while its '\r' line occupies the terminal's last line: the next log
// line first erases it, so log text and bar never share a line.
void set_progress_line_live(bool live);

}  // namespace elarin
