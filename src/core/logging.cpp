// The stderr logger: "HH:MM:SS message", with a colored "warning: " / "error: " prefix.
// Leaves out file sinks and async logging: stderr lines are few and must not be lost on abort.
#include "elarin/core/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <memory>
#include <string_view>

namespace elarin {
namespace {

std::atomic<bool> g_quiet{false};
std::atomic<bool> g_progress_live{false};

void append(std::string_view s, spdlog::memory_buf_t& dest) {
  dest.append(s.data(), s.data() + s.size());
}

// %L replacement: info lines carry no level word, people read them; the others say why.
class LevelPrefix : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    switch (msg.level) {
      case spdlog::level::warn:
        append("warning: ", dest);
        break;
      case spdlog::level::err:
        append("error: ", dest);
        break;
      case spdlog::level::critical:
        append("fatal: ", dest);
        break;
      case spdlog::level::debug:
        append("debug: ", dest);
        break;
      case spdlog::level::trace:
        append("trace: ", dest);
        break;
      default:
        break;
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelPrefix>();
  }
};

// Emits "\r\x1b[K" (carriage return, erase line) when a progress bar owns the line.
class EraseProgress : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    if (g_progress_live.load(std::memory_order_relaxed)) append("\r\x1b[K", dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EraseProgress>();
  }
};

std::shared_ptr<spdlog::logger> make_logger() {
  // Not registered in spdlog's global registry: other code calling spdlog::drop_all() or
  // creating its own "elarin" logger cannot take this one away.
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<EraseProgress>('*').add_flag<LevelPrefix>('&');
  formatter->set_pattern("%*%H:%M:%S %^%&%$%v");
  sink->set_formatter(std::move(formatter));
  auto log = std::make_shared<spdlog::logger>("elarin", std::move(sink));
  log->set_level(spdlog::level::info);
  log->flush_on(spdlog::level::info);
  return log;
}

}  // namespace

spdlog::logger& logger() {
  // Leaked on purpose: static destructors that log at exit must still find a live logger.
  static auto* const log = new std::shared_ptr<spdlog::logger>(make_logger());
  return **log;
}

void set_quiet(bool quiet) {
  g_quiet.store(quiet);
  logger().set_level(quiet ? spdlog::level::warn : spdlog::level::info);
}

bool is_quiet() { return g_quiet.load(); }

void set_progress_line_live(bool live) { g_progress_live.store(live, std::memory_order_relaxed); }

}  // namespace elarin
