// JSON-lines metrics log with an optional TensorBoard mirror.
// Leaves out rotation and compression: one run writes a few MB at most.
#include "elarin/core/metrics_log.hpp"

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "elarin/core/errors.hpp"
#include "elarin/core/stopwatch.hpp"

namespace elarin {

MetricsLog::MetricsLog(const std::string& jsonl_path, const std::string& tensorboard_dir)
    : path_(jsonl_path), start_(std::chrono::steady_clock::now()) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(jsonl_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw Error("cannot create directory for metrics '" + jsonl_path + "': " + ec.message());
  file_ = std::fopen(jsonl_path.c_str(), "ab");
  if (file_ == nullptr) {
    throw Error("cannot open metrics log '" + jsonl_path + "': " + errno_message(errno));
  }
  if (!tensorboard_dir.empty()) {
    try {
      tb_ = std::make_unique<TensorBoardWriter>(tensorboard_dir);
    } catch (...) {
      std::fclose(file_);
      throw;
    }
  }
}

MetricsLog::~MetricsLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsLog::log(int64_t step, const Values& values) {
  for (const auto& kv : values) {
    if (kv.first.empty() || kv.first == "step" || kv.first == "time_s") {
      throw Error("metrics log '" + path_ + "': bad metric name '" + kv.first +
                  "' (names must be non-empty and not \"step\" or \"time_s\")");
    }
  }
  // ordered_json keeps step and time_s first, then the caller's order: lines read like a table.
  nlohmann::ordered_json line;
  line["step"] = step;
  const double t = seconds_since(start_);
  line["time_s"] = std::round(t * 1000) / 1000;  // ms is plenty, and lines stay short
  for (const auto& [name, value] : values) line[name] = value;
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    throw Error("cannot write metrics log '" + path_ + "': " + errno_message(errno));
  }
  if (tb_) tb_->add_scalars(step, values);
}

}  // namespace elarin
