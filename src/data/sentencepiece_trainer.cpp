// spm_train as a subprocess fed through a pipe (see the header). The child's stdout and
// stderr go to a log beside the output, kept only to quote its last message on failure.
#include "elarin/data/sentencepiece_trainer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "core/utf8.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/core/subprocess.hpp"
#include "elarin/data/sentencepiece.hpp"

extern char** environ;

namespace elarin {
namespace fs = std::filesystem;
namespace {

// Pieces spm_train adds before any learned one: <unk>, <s>, </s>.
constexpr int64_t kMetaPieces = 3;

void emit_line(std::string_view line, std::string& out, SpmCleanStats& stats) {
  if (line.empty()) return;
  if (line.size() > kSpmMaxSentenceBytes) ++stats.split_lines;
  while (line.size() > kSpmMaxSentenceBytes) {
    size_t cut = line.rfind(' ', kSpmMaxSentenceBytes);
    size_t skip = 1;  // the space at the cut
    if (cut == std::string_view::npos || cut == 0) {
      cut = kSpmMaxSentenceBytes;  // no space: cut at a character boundary
      while (cut > 0 && (static_cast<uint8_t>(line[cut]) & 0xC0) == 0x80) --cut;
      skip = 0;
    }
    out.append(line.substr(0, cut)) += '\n';
    ++stats.sentences;
    line.remove_prefix(cut + skip);
  }
  if (!line.empty()) {
    out.append(line) += '\n';
    ++stats.sentences;
  }
}

bool is_control(uint32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

// spm_train's reason from its log: its last failed-status or check line, else the last
// non-empty lines.
std::string log_tail(const std::string& path, size_t lines) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "no output";
  std::istringstream in(read_file(path));
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) all.push_back(line);
  if (all.empty()) return "no output";
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    for (const char* mark : {"status.ok()", "Check failed", "ERROR", "FATAL"})
      if (it->find(mark) != std::string::npos) return *it;
  }
  std::string tail;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    tail += (tail.empty() ? "" : " | ") + all[i];
  return tail;
}

// Ignores SIGPIPE while alive, so a dying child turns writes into EPIPE, not a dead parent.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &old_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction old_ {};
};

// Writes all of `data` to `fd`; false when the reader has gone (EPIPE).
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return false;
      throw Error("writing to spm_train: " + errno_message(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void remove_quietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

}  // namespace

void validate(const SpmTrainOptions& o) {
  if (o.output_prefix.empty()) throw UsageError("--output: expected a path prefix, got ''");
  if (fs::path(o.output_prefix).filename().empty())
    throw UsageError("--output: '" + o.output_prefix +
                     "' names a directory; expected a prefix such as runs/tok");
  if (o.model_type != "unigram" && o.model_type != "bpe")
    throw UsageError("--model_type: got '" + o.model_type + "', expected unigram | bpe");
  std::set<std::string> seen;
  for (const auto& s : o.user_symbols) {
    if (s.empty()) throw UsageError("--user_symbols: empty symbol (two commas in a row?)");
    for (char c : s) {
      if (static_cast<uint8_t>(c) <= 0x20 || c == 0x7F)
        throw UsageError("--user_symbols: '" + s +
                         "' holds a space or control character; symbols are single tokens");
    }
    if (!seen.insert(s).second) throw UsageError("--user_symbols: '" + s + "' given twice");
    if (s == "<unk>" || s == "<s>" || s == "</s>")
      throw UsageError("--user_symbols: '" + s + "' is one of spm's own pieces");
  }
  const int64_t reserved =
      kMetaPieces + static_cast<int64_t>(o.user_symbols.size()) + (o.byte_fallback ? 256 : 0);
  if (o.vocab_size <= reserved || o.vocab_size > 1000000)
    throw UsageError("--vocab_size: got " + std::to_string(o.vocab_size) + ", expected " +
                     std::to_string(reserved + 1) + ".." + std::to_string(1000000) + " (" +
                     std::to_string(reserved) + " pieces are reserved for <unk> <s> </s>" +
                     (o.user_symbols.empty() ? "" : ", user symbols") +
                     (o.byte_fallback ? ", 256 bytes" : "") + ")");
  if (o.input_sentence_size < 0)
    throw UsageError("input_sentence_size: got " + std::to_string(o.input_sentence_size) +
                     ", expected >= 0 (0: every sentence)");
  if (o.num_threads < 0)
    throw UsageError("num_threads: got " + std::to_string(o.num_threads) + ", expected >= 0");
}

void append_spm_sentences(std::string_view record, std::string& out, SpmCleanStats& stats) {
  std::string line;
  bool pending_space = false;
  for (size_t i = 0; i < record.size();) {
    size_t len = 0;
    const uint32_t cp = decode_utf8(record, i, &len);
    const size_t at = i;
    i += len;
    if (cp == '\n' || cp == '\r') {
      emit_line(line, out, stats);
      line.clear();
      pending_space = false;
    } else if (cp == ' ' || cp == '\t') {
      pending_space = !line.empty();
    } else if (cp == kInvalidUtf8 || is_control(cp)) {
      ++stats.removed_chars;
    } else {
      if (pending_space) line += ' ';
      pending_space = false;
      line.append(record.substr(at, len));
    }
  }
  emit_line(line, out, stats);
}

SpmTrainResult train_sentencepiece(const std::vector<std::string>& records,
                                   const SpmTrainOptions& o) {
  validate(o);
  const fs::path prefix(o.output_prefix);
  fs::path dir = prefix.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create directory '" + dir.string() + "': " + ec.message());
  const std::string tmp =
      (dir / ("." + prefix.filename().string() + ".tmp" + std::to_string(::getpid()))).string();
  const std::string tmp_model = tmp + ".model", tmp_vocab = tmp + ".vocab", log = tmp + ".log";
  auto cleanup = [&] {
    remove_quietly(tmp_model);
    remove_quietly(tmp_vocab);
    remove_quietly(log);
  };

  std::string user;
  for (const auto& s : o.user_symbols) user += (user.empty() ? "" : ",") + s;
  const int threads = o.num_threads > 0
                          ? o.num_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::string> argv = {
      o.program,
      "--input=/dev/stdin",
      "--model_prefix=" + tmp,
      "--vocab_size=" + std::to_string(o.vocab_size),
      "--model_type=" + o.model_type,
      std::string("--byte_fallback=") + (o.byte_fallback ? "true" : "false"),
      "--max_sentence_length=" + std::to_string(kSpmMaxSentenceBytes),
      "--num_threads=" + std::to_string(threads)};
  if (!user.empty()) argv.push_back("--user_defined_symbols=" + user);
  if (o.input_sentence_size > 0) {
    argv.push_back("--input_sentence_size=" + std::to_string(o.input_sentence_size));
    argv.push_back("--shuffle_input_sentence=true");
  }

  SpmTrainResult result;
  const auto t0 = std::chrono::steady_clock::now();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error("pipe: " + errno_message(errno));
  pid_t pid;
  try {
    // stdin reads the pipe; stdout and stderr go to the log.
    pid = spawn_program(argv,
                        {Redirect::descriptor(fds[0]), Redirect::file(log), Redirect::to_stdout()},
                        "install it with `sudo apt-get install sentencepiece` "
                        "(or run scripts/setup.sh)");
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    cleanup();
    throw;
  }
  ::close(fds[0]);
  bool reader_gone = false;
  {
    IgnoreSigpipe guard;
    std::string chunk;
    try {
      for (const auto& r : records) {
        append_spm_sentences(r, chunk, result.clean);
        if (chunk.size() >= (1 << 16)) {
          if (!write_all(fds[1], chunk)) {
            reader_gone = true;
            break;
          }
          chunk.clear();
        }
      }
      if (!reader_gone && !write_all(fds[1], chunk)) reader_gone = true;
    } catch (...) {
      ::close(fds[1]);
      wait_program(pid, o.program);
      cleanup();
      throw;
    }
    ::close(fds[1]);
  }
  const int code = wait_program(pid, o.program);
  result.seconds = seconds_since(t0);
  if (result.clean.sentences == 0) {
    cleanup();
    throw Error("the corpus holds no text once cleaned");
  }
  if (code != 0 || reader_gone || !fs::exists(tmp_model) || !fs::exists(tmp_vocab)) {
    const std::string tail = log_tail(log, 3);
    cleanup();
    throw Error(o.program + " failed (exit " + std::to_string(code) + ") on " +
                std::to_string(result.clean.sentences) + " sentences: " + tail);
  }
  try {
    // Validate, then commit: the model must load before it replaces anything.
    const std::string model_bytes = read_file(tmp_model);
    result.pieces = SentencePieceTokenizer::from_bytes(model_bytes, tmp_model).vocab_size();
    result.model_path = o.output_prefix + ".model";
    result.vocab_path = o.output_prefix + ".vocab";
    write_file_atomic(result.vocab_path, read_file(tmp_vocab));
    write_file_atomic(result.model_path, model_bytes);
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
  return result;
}

}  // namespace elarin
