// Metrics JSON lines: one parseable object per line, in order, mirrored to TensorBoard.
#include "elarin/core/metrics_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;

using elarin::test::fresh_dir;

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Metrics, JsonLinesParseAndKeepStepOrder) {
  const fs::path dir = fresh_dir("metrics_jsonl");
  const fs::path path = dir / "sub" / "metrics.jsonl";  // parent directories are created
  {
    elarin::MetricsLog log(path.string());
    for (int step = 0; step < 5; ++step) {
      log.log(step * 10, {{"loss", 1.0 / (step + 1)}, {"acc", step * 0.25}});
      // Flushed per line: readable while the log is still open.
      EXPECT_EQ(lines_of(path).size(), static_cast<size_t>(step + 1));
    }
    EXPECT_TRUE(log.tensorboard_path().empty());
  }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 5u);
  double last_time = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j.at("step").get<int64_t>(), static_cast<int64_t>(i * 10));
    EXPECT_DOUBLE_EQ(j.at("loss").get<double>(), 1.0 / (i + 1));
    EXPECT_DOUBLE_EQ(j.at("acc").get<double>(), i * 0.25);
    const double t = j.at("time_s").get<double>();
    EXPECT_GE(t, last_time);
    last_time = t;
    EXPECT_EQ(j.size(), 4u);
  }
  // Field order on the line: step, time_s, then the caller's order.
  EXPECT_EQ(lines[1].rfind("{\"step\":10,\"time_s\":", 0), 0u) << lines[1];
  EXPECT_LT(lines[1].find("\"loss\""), lines[1].find("\"acc\""));
  fs::remove_all(dir);
}

TEST(Metrics, ReopeningAppendsInsteadOfTruncating) {
  const fs::path dir = fresh_dir("metrics_append");
  const fs::path path = dir / "m.jsonl";
  { elarin::MetricsLog(path.string()).log(1, {{"loss", 2.0}}); }
  { elarin::MetricsLog(path.string()).log(2, {{"loss", 1.0}}); }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["step"], 1);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["step"], 2);
  fs::remove_all(dir);
}

TEST(Metrics, NonFiniteValuesBecomeNullAndLineStaysValid) {
  const fs::path dir = fresh_dir("metrics_nan");
  const fs::path path = dir / "m.jsonl";
  {
    elarin::MetricsLog log(path.string());
    log.log(3, {{"loss", std::numeric_limits<double>::quiet_NaN()},
                {"grad", std::numeric_limits<double>::infinity()}});
  }
  const auto j = nlohmann::json::parse(lines_of(path).at(0));
  EXPECT_TRUE(j.at("loss").is_null());
  EXPECT_TRUE(j.at("grad").is_null());
  fs::remove_all(dir);
}

TEST(Metrics, ReservedOrEmptyNamesAreRejected) {
  const fs::path dir = fresh_dir("metrics_names");
  elarin::MetricsLog log((dir / "m.jsonl").string());
  EXPECT_THROW(log.log(1, {{"step", 1.0}}), elarin::Error);
  EXPECT_THROW(log.log(1, {{"time_s", 1.0}}), elarin::Error);
  EXPECT_THROW(log.log(1, {{"", 1.0}}), elarin::Error);
  EXPECT_TRUE(lines_of(dir / "m.jsonl").empty());  // nothing half-written
  fs::remove_all(dir);
}

TEST(Metrics, MirrorsScalarsToTensorBoard) {
  const fs::path dir = fresh_dir("metrics_tb");
  elarin::MetricsLog log((dir / "m.jsonl").string(), (dir / "tb").string());
  const std::string tb = log.tensorboard_path();
  ASSERT_FALSE(tb.empty());
  EXPECT_EQ(fs::path(tb).parent_path(), dir / "tb");
  const auto size_before = fs::file_size(tb);  // the file_version record
  log.log(1, {{"train/loss", 0.5}, {"train/acc", 0.75}});
  const auto size_after = fs::file_size(tb);
  // One record: 16 bytes of framing + Event (wall_time 9, step 2, summary 2 + two Values of
  // 2 + (2 + 10 + 5) and 2 + (2 + 9 + 5)).
  EXPECT_EQ(size_after - size_before, 16u + 9 + 2 + 2 + (2 + 17) + (2 + 16));
  fs::remove_all(dir);
}

TEST(Metrics, UnopenablePathThrowsNamingIt) {
  const fs::path dir = fresh_dir("metrics_bad");
  fs::create_directories(dir / "m.jsonl");  // a directory where the file should go
  try {
    elarin::MetricsLog log((dir / "m.jsonl").string());
    FAIL() << "expected elarin::Error";
  } catch (const elarin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.jsonl"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
