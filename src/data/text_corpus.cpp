// Text corpus loading: files, directories and the fortune format ("%"-separated records).
// Leaves out encoding detection: files are taken as UTF-8 bytes.
#include "elarin/data/text_corpus.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {
namespace fs = std::filesystem;
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Terminal overstrike ("_\bA" underlines A, "A\bA" bolds it) predates Unicode; a backspace
// erases the byte before it, which leaves the visible character.
std::string strip_overstrike(const std::string& s) {
  if (s.find('\b') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\b') {
      if (!out.empty()) out.pop_back();
    } else {
      out += c;
    }
  }
  return out;
}

void finish(TextCorpus& c) {
  c.text.clear();
  for (size_t i = 0; i < c.records.size(); ++i) {
    if (i) c.text += kRecordSeparator;
    c.text += c.records[i];
  }
}

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

}  // namespace

std::vector<std::string> split_fortune_records(const std::string& text) {
  std::vector<std::string> records;
  std::string current;
  size_t pos = 0;
  auto flush = [&] {
    std::string r = trim(strip_overstrike(current));
    if (!r.empty()) records.push_back(std::move(r));
    current.clear();
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "%") {
      flush();
    } else {
      current += line;
      current += '\n';
    }
  }
  flush();
  return records;
}

TextCorpus load_text_corpus(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error("text corpus '" + path + "' not found");
  TextCorpus corpus;
  if (fs::is_regular_file(status)) {
    std::string text = read_file(path);
    if (text.find('\0') != std::string::npos) {
      throw FormatError("text corpus '" + path + "' holds NUL bytes: a binary file, expected text");
    }
    corpus.records.push_back(std::move(text));
    corpus.sources.push_back(path);
  } else if (fs::is_directory(status)) {
    std::vector<fs::path> files;
    auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied);
    for (; it != fs::recursive_directory_iterator(); ++it) {
      if (is_hidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());  // filesystem order is not reproducible
    for (const auto& f : files) {
      std::string text = read_file(f.string());
      if (text.find('\0') != std::string::npos) continue;
      if (trim(text).empty()) continue;
      corpus.records.push_back(std::move(text));
      corpus.sources.push_back(f.string());
    }
  } else {
    throw Error("text corpus '" + path + "' is neither a file nor a directory");
  }
  if (corpus.records.empty()) throw Error("text corpus '" + path + "' holds no text files");
  finish(corpus);
  return corpus;
}

TextCorpus load_fortunes(const std::string& dir, const std::vector<std::string>& skip) {
  const std::string install =
      ": install them with `sudo apt-get install fortunes` (or run scripts/setup.sh)";
  if (!fs::is_directory(dir)) throw Error("fortune files not found in " + dir + install);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path& p = entry.path();
    if (!entry.is_regular_file()) continue;
    if (p.extension() == ".dat" || p.extension() == ".u8") continue;  // index, UTF-8 link
    if (!fs::exists(p.string() + ".dat")) continue;                   // not a fortune file
    if (std::find(skip.begin(), skip.end(), p.filename().string()) != skip.end()) continue;
    files.push_back(p);
  }
  if (files.empty()) throw Error("no fortune files (with .dat indexes) in " + dir + install);
  std::sort(files.begin(), files.end());
  TextCorpus corpus;
  for (const auto& f : files) {
    for (auto& r : split_fortune_records(read_file(f.string()))) {
      corpus.records.push_back(std::move(r));
      corpus.sources.push_back(f.string());
    }
  }
  finish(corpus);
  return corpus;
}

}  // namespace elarin
