// The feedback log (see the header).
#include "elarin/brain/feedback_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "elarin/core/base64.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::brain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json to_json(const FeedbackRecord& r) {
  json j = {{"seq", r.seq},         {"time", r.time},       {"episode", r.episode},
            {"tick", r.tick},       {"kind", r.kind},       {"reward", r.reward},
            {"treat", r.treat},     {"delay_s", r.delay_s}, {"answer", r.answer},
            {"port", r.port}};
  if (r.kind == "words") {
    j["words"] = r.words;
    j["valence"] = r.valence;
  }
  if (r.values.defined()) {
    const auto v = r.values.to(torch::kFloat32).contiguous();
    j["values"] = {{"dtype", "F32"},
                   {"shape", v.sizes().vec()},
                   {"base64", base64_encode(v.data_ptr(), static_cast<size_t>(v.nbytes()))}};
  } else {
    j["sense"] = r.sense;
    j["item"] = r.item;
  }
  return j;
}

FeedbackRecord from_json(const json& j) {
  FeedbackRecord r;
  r.seq = j.at("seq").get<int64_t>();
  r.time = j.at("time").get<double>();
  r.episode = j.at("episode").get<int64_t>();
  r.tick = j.at("tick").get<int64_t>();
  r.kind = j.at("kind").get<std::string>();
  r.reward = j.at("reward").get<double>();
  r.treat = j.at("treat").get<bool>();
  r.delay_s = j.value("delay_s", 0.0);
  r.answer = j.value("answer", "");
  r.port = j.at("port").get<std::string>();
  r.words = j.value("words", "");
  r.valence = j.value("valence", 0.0);
  if (j.contains("values")) {
    const auto& v = j.at("values");
    if (v.at("dtype").get<std::string>() != "F32") throw FormatError("values: dtype is not F32");
    const auto shape = v.at("shape").get<std::vector<int64_t>>();
    const std::string bytes = base64_decode(v.at("base64").get<std::string>());
    int64_t n = 1;
    for (const auto d : shape) n *= d;
    if (static_cast<int64_t>(bytes.size()) != n * 4)
      throw FormatError("values: " + std::to_string(bytes.size()) + " bytes for " +
                        std::to_string(n) + " floats");
    r.values = torch::empty(shape, torch::kFloat32);
    std::memcpy(r.values.data_ptr(), bytes.data(), bytes.size());
  } else {
    r.sense = j.at("sense").get<std::string>();
    r.item = j.at("item").get<int64_t>();
  }
  return r;
}

}  // namespace

std::vector<FeedbackRecord> read_feedback_log(const std::string& path, int64_t after_seq,
                                              bool* torn) {
  if (torn) *torn = false;
  std::vector<FeedbackRecord> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = 0;
  int64_t line = 0, prev_seq = 0;
  while (start < text.size()) {
    ++line;
    const size_t end = text.find('\n', start);
    const bool whole = end != std::string::npos;
    const std::string row = text.substr(start, whole ? end - start : std::string::npos);
    const bool last = !whole || end + 1 >= text.size();
    start = whole ? end + 1 : text.size();
    FeedbackRecord r;
    try {
      if (!whole) throw FormatError("no newline");
      r = from_json(json::parse(row));
    } catch (const std::exception& e) {
      if (last) {  // a crash mid-append: this record was never acknowledged
        if (torn) *torn = true;
        break;
      }
      throw FormatError(path + ": line " + std::to_string(line) + " is not a feedback record (" +
                        e.what() + ")");
    }
    if (r.seq <= prev_seq)
      throw FormatError(path + ": line " + std::to_string(line) + " has seq " +
                        std::to_string(r.seq) + " after " + std::to_string(prev_seq));
    prev_seq = r.seq;
    if (r.seq > after_seq) out.push_back(std::move(r));
  }
  return out;
}

FeedbackLog::FeedbackLog(std::string path) : path_(std::move(path)) {
  const fs::path p(path_);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  // Where the whole records end: a torn tail is cut off before appending.
  bool torn = false;
  const auto records = read_feedback_log(path_, 0, &torn);
  count_ = static_cast<int64_t>(records.size());
  last_seq_ = records.empty() ? 0 : records.back().seq;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("feedback log " + path_ + ": cannot open: " + errno_message(errno));
  if (torn) {
    std::ifstream in(path_, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t keep = 0;
    for (int64_t n = 0; n < count_; ++n) keep = text.find('\n', keep) + 1;
    if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0 || ::fsync(fd_) != 0)
      throw Error("feedback log " + path_ + ": cannot cut its torn last line: " +
                  errno_message(errno));
    log_warn("feedback log {}: cut a torn last line (a crash while it was written)", path_);
  }
}

FeedbackLog::~FeedbackLog() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t FeedbackLog::append(FeedbackRecord r) {
  r.seq = last_seq_ + 1;
  r.time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string line = to_json(r).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("feedback log " + path_ + ": cannot write: " + errno_message(errno));
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0)
    throw Error("feedback log " + path_ + ": cannot sync: " + errno_message(errno));
  last_seq_ = r.seq;
  ++count_;
  return r.seq;
}

void FeedbackLog::clear() {
  if (::ftruncate(fd_, 0) != 0 || ::fsync(fd_) != 0)
    throw Error("feedback log " + path_ + ": cannot clear: " + errno_message(errno));
  last_seq_ = 0;
  count_ = 0;
}

}  // namespace elarin::brain
