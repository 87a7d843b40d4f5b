// TensorBoard scalar event files: TFRecord framing around hand-encoded Event protos, so that
// `tensorboard --logdir runs/` plots the curves. Leaves out images, histograms and graphs.
//
//   elarin::TensorBoardWriter tb("runs/mnist");
//   tb.add_scalar("train/loss", 0.31, /*step=*/100);
//   tb.add_scalars(100, {{"test/acc", 0.97}, {"test/loss", 0.09}});
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elarin {

// One TFRecord: uint64 length (LE), uint32 masked CRC-32C of those 8 bytes, the data,
// uint32 masked CRC-32C of the data. Appended to `out`.
void append_tfrecord(std::string& out, std::string_view data);

// Serialized tensorflow.Event protos (field numbers from tensorboard/compat/proto):
// Event{wall_time=1 double, step=2 int64, file_version=3 string, summary=5 Summary},
// Summary{value=1 repeated Value}, Value{tag=1 string, simple_value=2 float}.
std::string encode_file_version_event(double wall_time, std::string_view version);
std::string encode_scalars_event(double wall_time, int64_t step,
                                 const std::vector<std::pair<std::string, double>>& values);

class TensorBoardWriter {
 public:
  // Creates `logdir` (and parents) and a new file
  // `events.out.tfevents.<unix_time>.<hostname>.<pid>.elarin` in it (TensorBoard reads any
  // file whose name contains "tfevents"), starting with a file_version "brain.Event:2" event.
  // Never overwrites: a name already taken gets a ".1", ".2", ... suffix.
  // Throws Error naming the path when the directory or file cannot be created.
  explicit TensorBoardWriter(const std::string& logdir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // Writes one event and flushes it to the OS: metrics come at most a few times a second,
  // and a plot that lags or a crash that loses the tail is worse than one write(2) per event.
  // Values are stored as float32 (TensorBoard's simple_value). Throws Error on a write
  // failure or an empty tag.
  void add_scalar(std::string_view tag, double value, int64_t step);
  // Several scalars in one event (one write): the usual "end of epoch" case. An empty
  // list writes nothing.
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values);

  const std::string& path() const { return path_; }

 private:
  void write_event(std::string_view event);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string record_;                               // framing buffer, reused between events
  std::vector<std::pair<std::string, double>> one_;  // add_scalar's single-value list
};

}  // namespace elarin
