// Progress bar text (pure functions) and the throttled '\r' drawing on a terminal.
// Leaves out terminal resize signals: the width is re-read on each draw instead.
#include "elarin/core/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>

#include "elarin/core/logging.hpp"

namespace elarin {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kMaxBarWidth = 30;
constexpr int kMinBarWidth = 5;

int terminal_columns() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

// One write(2) per line, so a concurrent log line cannot land in the middle of it.
void write_stderr(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(STDERR_FILENO, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a broken terminal is no reason to stop training
    off += static_cast<size_t>(n);
  }
}

}  // namespace

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%d:%02d", static_cast<int>(s / 60), static_cast<int>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02d:%02d", static_cast<long long>(s / 3600),
                  static_cast<int>(s / 60 % 60), static_cast<int>(s % 60));
  }
  return buf;
}

std::string format_rate(double per_second) {
  if (!(per_second >= 0) || std::isinf(per_second)) return "?";
  static const char* const kSuffix[] = {"", "k", "M", "G", "T"};
  int scale = 0;
  double v = per_second;
  // Compare with 999.5, not 1000, so that rounding never prints "1000k".
  while (v >= 999.5 && scale < 4) {
    v /= 1000;
    ++scale;
  }
  char buf[32];
  const int decimals = (scale == 0 && v < 9.995) ? 2 : (v < 99.95 ? 1 : 0);
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, v, kSuffix[scale]);
  return buf;
}

std::string format_progress(int64_t done, int64_t total, double elapsed_s, int bar_width,
                            std::string_view label, std::string_view unit) {
  std::string out;
  out.reserve(96 + label.size() + static_cast<size_t>(std::max(bar_width, 0)));
  if (!label.empty()) {
    out.append(label);
    out += ' ';
  }
  char buf[64];
  const bool known = total > 0;
  if (known) {
    const int64_t clamped = std::clamp<int64_t>(done, 0, total);
    // Floor, so 100% appears only when the work is really complete.
    std::snprintf(buf, sizeof buf, "%3d%%", static_cast<int>(clamped * 100 / total));
    out += buf;
    if (bar_width > 0) {
      const auto filled = static_cast<int>(clamped * bar_width / total);
      out += " [";
      out.append(static_cast<size_t>(filled), '#');
      out.append(static_cast<size_t>(bar_width - filled), '.');
      out += ']';
    }
    std::snprintf(buf, sizeof buf, " %lld/%lld", static_cast<long long>(done),
                  static_cast<long long>(total));
  } else {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(done));
  }
  out += buf;

  const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : -1;
  out += "  ";
  out += format_rate(rate);
  out += ' ';
  out.append(unit);
  out += "/s";
  if (known && done >= total) {
    out += "  in ";
    out += format_duration(elapsed_s);
  } else if (known) {
    out += "  ETA ";
    out += format_duration(rate > 0 ? static_cast<double>(total - done) / rate : -1);
  }
  return out;
}

ProgressBar::ProgressBar(int64_t total, std::string label, std::string unit)
    : total_(total),
      label_(std::move(label)),
      unit_(std::move(unit)),
      start_(Clock::now()),
      last_draw_(start_),
      drawing_(::isatty(STDERR_FILENO) == 1 && !is_quiet()) {}

ProgressBar::~ProgressBar() {
  if (drawn_ && !finished_) {
    write_stderr("\n");
    set_progress_line_live(false);
  }
}

void ProgressBar::update(int64_t n) {
  done_ += n;
  maybe_draw();
}

void ProgressBar::set(int64_t done) {
  done_ = done;
  maybe_draw();
}

void ProgressBar::maybe_draw() {
  if (!drawing_) return;
  const auto now = Clock::now();
  if (drawn_ && now - last_draw_ < kRedrawInterval) return;
  draw(now, false);
}

void ProgressBar::draw(Clock::time_point now, bool final_line) {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  // The text around the bar has a fixed width for given counts, so measure it without the
  // bar and give the bar what is left of the terminal (1 column spare avoids auto-wrap).
  const std::string bare = format_progress(done_, total_, elapsed, 0, label_, unit_);
  const int room = terminal_columns() - 1 - static_cast<int>(bare.size()) - 3;
  const int bar_width = room >= kMinBarWidth ? std::min(room, kMaxBarWidth) : 0;
  std::string line = "\r";
  line += bar_width > 0 ? format_progress(done_, total_, elapsed, bar_width, label_, unit_) : bare;
  line += "\x1b[K";  // erase what a longer previous line left behind
  if (final_line) line += '\n';
  write_stderr(line);
  set_progress_line_live(!final_line);
  last_draw_ = now;
  drawn_ = true;
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  const auto now = Clock::now();
  if (drawing_) {
    draw(now, true);
  } else {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    log_info("{}", format_progress(done_, total_, elapsed, 0, label_, unit_));
  }
}

}  // namespace elarin
