// The feedback log: every rating, treat and word a person gives the brain, one JSON line each,
// appended and fsynced before the brain acts on it, so nothing a person taught is lost in a
// crash. Each record carries what the brain was shown (a stream item, or the values a person
// sent), so it can be replayed: shown again and rated again. A torn last line (a crash mid-write)
// is cut off; a bad line anywhere else is a FormatError naming it.
// Leaves out when records are replayed: brain/live_session.hpp.
//
//   elarin::brain::FeedbackLog log("state/feedback.jsonl");
//   elarin::brain::FeedbackRecord r;
//   r.episode = 12;
//   r.kind = "rating";
//   r.reward = -1;
//   int64_t seq = log.append(r);  // on disk (fsync) when this returns
//   auto later = elarin::brain::read_feedback_log("state/feedback.jsonl", /*after_seq=*/seq - 1);
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace elarin::brain {

struct FeedbackRecord {
  int64_t seq = 0;        // 1, 2, ... in the order written (append assigns it)
  double time = 0;        // unix seconds when it was written
  int64_t episode = 0;    // the answer rated (the live session's episode number)
  int64_t tick = 0;       // the brain's tick that answered
  std::string kind;       // rating | treat | words
  double reward = 0;      // what the brain learns from: -1, 0 (nothing) or +1
  bool treat = false;     // the Treat button: a dopamine bonus
  std::string words;      // kind words: what the person typed
  double valence = 0;     // kind words: the amygdala's appraisal of them
  double delay_s = 0;     // from the answer to this feedback
  std::string answer;     // the word the brain said
  // What the brain was shown: on `port`, either the stream's item `item` of sense `sense`
  // (mnist, fashion, speech, text) or, for a stimulus a person sent, its `values`.
  std::string port;
  std::string sense;
  int64_t item = -1;
  torch::Tensor values;  // (size) float32; undefined for a stream item
};

class FeedbackLog {
 public:
  // Opens `path` for appending (creating it and its directory); a torn last line is cut off
  // (with a warning) so the next record starts on a line of its own.
  explicit FeedbackLog(std::string path);
  ~FeedbackLog();
  FeedbackLog(const FeedbackLog&) = delete;
  FeedbackLog& operator=(const FeedbackLog&) = delete;

  // Writes `r` with the next seq and the current time, then fsyncs; returns the seq. Throws
  // Error (naming the path and errno) when the write fails; the record then does not count.
  int64_t append(FeedbackRecord r);
  int64_t last_seq() const { return last_seq_; }
  int64_t count() const { return count_; }
  const std::string& path() const { return path_; }
  // Removes every record (wipe).
  void clear();

 private:
  std::string path_;
  int fd_ = -1;
  int64_t last_seq_ = 0;
  int64_t count_ = 0;
};

// The records of the log at `path` with seq > after_seq, in order ([] if the file is missing).
// A last line without its newline or that does not parse is a torn write: skipped, and
// `*torn` (if given) set. FormatError naming the line for a bad line before the last.
std::vector<FeedbackRecord> read_feedback_log(const std::string& path, int64_t after_seq = 0,
                                              bool* torn = nullptr);

}  // namespace elarin::brain
