// Plain-text corpora: a file, a directory of files, or Debian's fortune cookies (the default
// English corpus). Leaves out tokenization (data/tokenizer) and encodings other than UTF-8.
//
//   elarin::TextCorpus corpus = elarin::load_fortunes();           // ~19k records from `fortunes`
//   elarin::TextCorpus mine = elarin::load_text_corpus("notes/");  // one record per file, by path
//   std::string all = corpus.text;  // the records joined with "\n\n"
#pragma once

#include <string>
#include <vector>

namespace elarin {

struct TextCorpus {
  std::vector<std::string> records;  // documents: one file, or one fortune
  std::vector<std::string> sources;  // the file each record came from (same length)
  std::string text;                  // records joined with "\n\n" (kRecordSeparator)
};

constexpr const char* kRecordSeparator = "\n\n";
constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

// A text file (one record) or a directory walked recursively in path order (one record per
// regular file; hidden entries and files holding NUL bytes, i.e. binaries, are skipped).
// Throws Error if `path` is missing, or holds no text.
TextCorpus load_text_corpus(const std::string& path);

// Debian's fortune files under `dir`: each plain file that has a `<name>.dat` index beside
// it (so the indexes and the `.u8` links are not read twice). Records are the texts between
// lines holding only "%", trimmed, with terminal overstrike ("_\bx") removed; empty records
// are dropped. `skip` names files to leave out (ASCII drawings are noise to a language
// model). Throws Error with the apt command when the directory or its files are missing.
TextCorpus load_fortunes(const std::string& dir = kFortunesDir,
                         const std::vector<std::string>& skip = {"ascii-art"});

// The records of one fortune-format text (exposed for tests and for user files in it).
std::vector<std::string> split_fortune_records(const std::string& text);

}  // namespace elarin
