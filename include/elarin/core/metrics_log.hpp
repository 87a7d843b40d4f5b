// Training metrics as JSON lines ({"step":N,"time_s":...,"loss":0.5} per line), mirrored to
// TensorBoard scalars when a directory is given. Leaves out reading and plotting.
//
//   elarin::MetricsLog metrics("runs/mnist/metrics.jsonl", "runs/mnist");  // + TensorBoard events
//   double loss = 0.31, acc = 0.92;
//   metrics.log(/*step=*/100, {{"train/loss", loss}, {"train/acc", acc}});
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "elarin/core/tensorboard.hpp"

namespace elarin {

class MetricsLog {
 public:
  using Values = std::vector<std::pair<std::string, double>>;

  // Opens `jsonl_path` for appending (a resumed run continues the same file), creating its
  // directory. `tensorboard_dir` empty: no TensorBoard file. Throws Error naming the path.
  explicit MetricsLog(const std::string& jsonl_path, const std::string& tensorboard_dir = {});
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Appends {"step":step,"time_s":<seconds since this log was opened>,name:value,...} in the
  // given order (time_s in milliseconds precision), flushed at once, so a crash loses at most
  // the line being written.
  // NaN and infinities become null (JSON has no such numbers); TensorBoard gets them as is.
  // Throws Error on a write failure or a name that is empty, "step" or "time_s".
  void log(int64_t step, const Values& values);

  const std::string& path() const { return path_; }
  // The TensorBoard event file, or empty.
  std::string tensorboard_path() const { return tb_ ? tb_->path() : std::string(); }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<TensorBoardWriter> tb_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace elarin
