// The feedback log: records come back as written (a sent stimulus's values bit for bit), a torn
// last line is skipped and cut before the next append, a bad line before the last is an error
// naming it, and the seq goes on across reopening.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "elarin/brain/feedback_log.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "test_util.hpp"

using elarin::brain::FeedbackLog;
using elarin::brain::FeedbackRecord;
using elarin::brain::read_feedback_log;

namespace {
FeedbackRecord rating(int64_t episode, double reward) {
  FeedbackRecord r;
  r.episode = episode;
  r.tick = episode * 3;
  r.kind = "rating";
  r.reward = reward;
  r.port = "image";
  r.sense = "mnist";
  r.item = episode + 100;
  r.answer = "seven";
  return r;
}
}  // namespace

TEST(FeedbackLog, RecordsComeBackAsWrittenAndSeqGoesOnAfterReopening) {
  elarin::test::TempDir dir;
  const std::string path = dir.path + "/state/feedback.jsonl";
  torch::Tensor sound = torch::randn({19200});
  {
    FeedbackLog log(path);
    EXPECT_EQ(log.append(rating(1, -1)), 1);
    FeedbackRecord w;
    w.episode = 2;
    w.kind = "words";
    w.words = "well done \xe2\x9c\x93";
    w.valence = 0.8;
    w.reward = 1;
    w.port = "audio";
    w.values = sound;
    EXPECT_EQ(log.append(w), 2);
  }
  FeedbackLog again(path);
  EXPECT_EQ(again.last_seq(), 2);
  EXPECT_EQ(again.append(rating(3, 1)), 3);
  const auto all = read_feedback_log(path);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sense, "mnist");
  EXPECT_EQ(all[0].item, 101);
  EXPECT_EQ(all[0].reward, -1);
  EXPECT_FALSE(all[0].values.defined());
  EXPECT_EQ(all[1].words, "well done \xe2\x9c\x93");
  ASSERT_TRUE(all[1].values.defined());
  EXPECT_TRUE(torch::equal(all[1].values, sound)) << "float32 values bit for bit";
  EXPECT_GT(all[1].time, 1.6e9);
  const auto later = read_feedback_log(path, /*after_seq=*/2);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].seq, 3);
}

TEST(FeedbackLog, ATornLastLineIsSkippedAndCutBeforeTheNextAppend) {
  elarin::test::TempDir dir;
  const std::string path = dir.path + "/feedback.jsonl";
  {
    FeedbackLog log(path);
    log.append(rating(1, 1));
    log.append(rating(2, -1));
  }
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"seq":3,"time":1.0,"episode":3,"tick":9,"ki)";  // a crash mid-write
  }
  bool torn = false;
  EXPECT_EQ(read_feedback_log(path, 0, &torn).size(), 2u);
  EXPECT_TRUE(torn);
  FeedbackLog log(path);
  EXPECT_EQ(log.last_seq(), 2);
  EXPECT_EQ(log.append(rating(3, 1)), 3);
  const auto all = read_feedback_log(path, 0, &torn);
  EXPECT_FALSE(torn);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].episode, 3);
}

TEST(FeedbackLog, ABadLineBeforeTheLastIsAnErrorNamingIt) {
  elarin::test::TempDir dir;
  const std::string path = dir.path + "/feedback.jsonl";
  {
    FeedbackLog log(path);
    log.append(rating(1, 1));
  }
  std::string text = elarin::read_file(path);
  elarin::write_file_atomic(path, text + "not json\n" + text);
  try {
    read_feedback_log(path);
    FAIL() << "no error";
  } catch (const elarin::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  // The same record twice: seq must rise.
  elarin::write_file_atomic(path, text + text);
  EXPECT_THROW(read_feedback_log(path), elarin::FormatError);
}
