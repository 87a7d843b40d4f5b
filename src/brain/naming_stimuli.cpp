// The naming task's stimuli (see the header).
#include "elarin/brain/naming_stimuli.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/data/image_dataset.hpp"
#include "elarin/data/speech.hpp"
#include "elarin/data/text_corpus.hpp"
#include "elarin/data/wav.hpp"

namespace elarin::brain {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The images of one split, shuffled with `gen`, as (N, 784).
torch::Tensor shuffled(const torch::Tensor& images, const torch::Tensor& order) {
  return images.view({-1, 784}).index_select(0, order);
}

// The spoken words: each name said in `variants` + `dev_variants` espeak-ng variants; the
// first `variants` of each word go to the stream, the rest to development.
NamingSense speech_sense(const std::vector<std::string>& names, const NamingTaskConfig& task,
                         const NamingSources& src) {
  const int64_t total = task.speech_variants + task.speech_dev_variants;
  if (task.speech_variants < 1 || task.speech_dev_variants < 0 || total > kMaxSpeechVariants)
    throw UsageError("task.speech_variants " + std::to_string(task.speech_variants) +
                     " + task.speech_dev_variants " + std::to_string(task.speech_dev_variants) +
                     ": expected >= 1 in the stream and at most " +
                     std::to_string(kMaxSpeechVariants) + " in all");
  std::vector<std::string> words;  // what espeak-ng reads: "ankle-boot" is said "ankle boot"
  for (auto w : names) {
    std::replace(w.begin(), w.end(), '-', ' ');
    if (w == "t shirt") w = "t-shirt";
    words.push_back(w);
  }
  SpeechOptions so;
  so.frames = std::max<int64_t>(2, src.audio_samples / 160);
  const auto spoken = generate_spoken_words(words, src.speech, static_cast<int>(total), so);
  std::vector<torch::Tensor> stream, dev;
  std::vector<int64_t> labels;
  for (size_t r = 0; r < spoken.paths.size(); ++r) {
    auto x = read_wav(spoken.paths[r], 16000).samples;
    x = x.size(0) >= src.audio_samples
            ? x.narrow(0, 0, src.audio_samples)
            : torch::constant_pad_nd(x, {0, src.audio_samples - x.size(0)});
    const int64_t variant = static_cast<int64_t>(r) % total;  // rows are word-major
    if (variant < task.speech_variants) {
      stream.push_back(x);
      labels.push_back(spoken.labels[static_cast<int64_t>(r)].item<int64_t>());
    } else {
      dev.push_back(x);
    }
  }
  NamingSense s;
  s.kind = "speech";
  s.port = "audio";
  s.items = torch::stack(stream);
  s.labels = torch::tensor(labels, torch::kLong);
  s.dev = dev.empty() ? torch::zeros({0, src.audio_samples}) : torch::stack(dev);
  return s;
}

// Windows of the fortunes, `length` bytes each, from random places: wernicke's development.
torch::Tensor fortune_windows(const std::string& dir, int64_t count, int64_t length,
                              at::Generator& gen) {
  const auto corpus = load_fortunes(dir);
  const auto& text = corpus.text;
  const int64_t n = static_cast<int64_t>(text.size()) - length;
  if (n < 1) throw Error("fortunes in " + dir + " hold too little text for wernicke");
  auto starts = torch::randint(0, n, {count}, gen, torch::kLong);
  auto rows = torch::empty({count, length});
  auto r = rows.accessor<float, 2>();
  auto st = starts.accessor<int64_t, 1>();
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < length; ++j) {
      const auto c = static_cast<unsigned char>(text[static_cast<size_t>(st[i] + j)]);
      r[i][j] = c == 0 ? 32.0f : float(c);  // a NUL would read as padding
    }
  return rows;
}

// The parity rule (task.rule): adds "odd" and "even" to the names, the cues (each written in
// four forms, so a cue is not one fixed vector) and the distractors, both unrated senses on
// the text port. The distractors are fortune windows drawn apart from wernicke's (which come
// with the distractors when the text sense is not shown).
void add_rule(NamingData& d, const NamingTaskConfig& task, const NamingSources& src) {
  check_constraints(task, "task");
  if (std::none_of(d.senses.begin(), d.senses.end(),
                   [](const NamingSense& s) { return s.kind == "mnist"; }))
    throw UsageError("task.rule=parity rules the digits: task.stimuli must hold mnist");
  NamingRule& rule = d.rule;
  rule.name = task.rule;
  rule.gap_max = task.rule_gap_max;
  rule.odd = static_cast<int64_t>(d.names.size());
  rule.even = rule.odd + 1;
  d.names.push_back("odd");
  d.names.push_back("even");
  const std::vector<std::vector<std::string>> forms = {
      {"number", "Number", "NUMBER", "name the number"},
      {"parity", "Parity", "PARITY", "odd or even?"}};
  std::vector<torch::Tensor> rows;
  std::vector<int64_t> labels;
  for (size_t c = 0; c < forms.size(); ++c)
    for (const auto& f : forms[c]) {
      rows.push_back(text_row(f, src.text_length));
      labels.push_back(static_cast<int64_t>(c));
    }
  NamingSense cue;
  cue.kind = "cue";
  cue.port = "text";
  cue.items = torch::stack(rows);
  cue.labels = torch::tensor(labels, torch::kLong);
  cue.rated = false;
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(task.seed) ^ 0x5851f42d4c957f2dULL);
  NamingSense distractor;
  distractor.kind = "distractor";
  distractor.port = "text";
  distractor.items = fortune_windows(src.fortunes, task.rule_distractors, src.text_length, gen);
  distractor.labels = torch::full({task.rule_distractors}, -1, torch::kLong);
  distractor.rated = false;
  // wernicke develops on fortunes; without the text sense, which brings them, they come here.
  const bool text_shown = std::any_of(d.senses.begin(), d.senses.end(),
                                      [](const NamingSense& s) { return s.kind == "text"; });
  if (!text_shown && task.text_dev > 0)
    distractor.dev = fortune_windows(src.fortunes, task.text_dev, src.text_length, gen);
  rule.cue_sense = static_cast<int64_t>(d.senses.size());
  d.senses.push_back(std::move(cue));
  rule.distractor_sense = rule.cue_sense + 1;
  d.senses.push_back(std::move(distractor));
}

}  // namespace

const std::vector<std::string>& fashion_names() {
  static const std::vector<std::string> names = {"t-shirt", "trouser",   "pullover", "dress",
                                                 "coat",    "sandal",    "shirt",    "sneaker",
                                                 "bag",     "ankle-boot"};
  return names;
}

const std::vector<std::string>& digit_names() {
  static const std::vector<std::string> names = {"zero", "one", "two",   "three", "four",
                                                 "five", "six", "seven", "eight", "nine"};
  return names;
}

std::vector<std::string> text_forms(const std::string& name, int numeral, size_t max_bytes) {
  std::string spaced = name;
  if (spaced == "ankle-boot") spaced = "ankle boot";
  std::string cap = spaced;
  if (!cap.empty()) cap[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(cap[0])));
  std::vector<std::string> forms = {spaced,
                                    cap,
                                    upper(spaced),
                                    "a " + spaced,
                                    "the " + spaced,
                                    spaced + "!",
                                    cap + "?",
                                    "it is a " + spaced,
                                    "this is " + spaced,
                                    "I see a " + spaced,
                                    "that's a " + spaced + ".",
                                    "look: " + spaced};
  // Misspellings: one letter dropped (not the first), two neighbours swapped.
  for (size_t i = 1; i + 1 < spaced.size() && i <= 3; i += 2)
    forms.push_back(spaced.substr(0, i) + spaced.substr(i + 1));
  if (spaced.size() >= 4) {
    std::string swapped = spaced;
    std::swap(swapped[1], swapped[2]);
    forms.push_back(swapped);
  }
  if (numeral >= 0 && numeral <= 9) {
    const std::string d(1, static_cast<char>('0' + numeral));
    for (const auto& f : {d, "no. " + d, "#" + d, d + "!", "a " + d}) forms.push_back(f);
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto f : forms) {
    if (f.size() > max_bytes) f.resize(max_bytes);
    if (!f.empty() && seen.insert(f).second) out.push_back(f);
  }
  return out;
}

torch::Tensor text_row(const std::string& text, int64_t length) {
  auto row = torch::zeros({length});
  auto r = row.accessor<float, 1>();
  for (int64_t j = 0; j < length && j < static_cast<int64_t>(text.size()); ++j)
    r[j] = float(static_cast<unsigned char>(text[static_cast<size_t>(j)]));
  return row;
}

int64_t env_port_size(const BrainConfig& brain, const std::string& port, int64_t fallback) {
  for (const auto& e : brain.env_ports)
    if (e.rfind(port + "=", 0) == 0) {
      try {
        return std::stoll(e.substr(port.size() + 1));
      } catch (const std::exception&) {
        throw UsageError("brain.env_ports: '" + e + "', expected name=size");
      }
    }
  return fallback;
}

NamingData naming_data(const NamingTaskConfig& task, const NamingSources& src) {
  check_constraints(task, "task");
  const std::set<std::string> asked(task.stimuli.begin(), task.stimuli.end());
  if (asked.empty())
    throw UsageError("task.stimuli is empty: expected some of mnist, fashion, speech, text");
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(task.seed));
  NamingData d;
  int64_t fashion_offset = -1, digit_offset = -1;
  if (asked.count("mnist")) {
    d = mnist_naming_data(src.mnist, task.dev_images, static_cast<uint64_t>(task.seed));
    digit_offset = 0;
  }
  if (asked.count("fashion")) {
    auto train = load_fashion_mnist(src.fashion_mnist, true);
    auto test = load_fashion_mnist(src.fashion_mnist, false);
    if (task.fashion_images < 1 || task.fashion_images > test.size())
      throw UsageError("task.fashion_images: " + std::to_string(task.fashion_images) +
                       ", expected 1.." + std::to_string(test.size()));
    if (task.dev_images > train.size())
      throw UsageError("task.dev_images: " + std::to_string(task.dev_images) +
                       " exceeds Fashion-MNIST's " + std::to_string(train.size()) +
                       " training images");
    auto dev_order = torch::randperm(train.size(), gen).narrow(0, 0, task.dev_images);
    auto order = torch::randperm(test.size(), gen).narrow(0, 0, task.fashion_images);
    fashion_offset = static_cast<int64_t>(d.names.size());
    NamingSense f;
    f.kind = "fashion";
    f.port = "image";
    f.dev = shuffled(train.images, dev_order);
    f.items = shuffled(test.images, order);
    f.labels = test.labels.index_select(0, order) + fashion_offset;
    d.senses.push_back(std::move(f));
    for (const auto& n : fashion_names()) d.names.push_back(n);
  }
  if (d.names.empty()) {  // only speech and text: they name the digits
    d.names = digit_names();
    digit_offset = 0;
  }
  if (asked.count("speech")) {
    auto s = speech_sense(d.names, task, src);
    d.senses.push_back(std::move(s));
  }
  if (asked.count("text")) {
    if (task.text_dev < 0) throw UsageError("task.text_dev: expected >= 0");
    std::vector<torch::Tensor> rows;
    std::vector<int64_t> labels;
    for (size_t k = 0; k < d.names.size(); ++k) {
      const int64_t label = static_cast<int64_t>(k);
      const int numeral =
          digit_offset >= 0 && label - digit_offset >= 0 && label - digit_offset < 10
              ? static_cast<int>(label - digit_offset)
              : -1;
      for (const auto& f : text_forms(d.names[k], numeral, static_cast<size_t>(src.text_length))) {
        rows.push_back(text_row(f, src.text_length));
        labels.push_back(label);
      }
    }
    NamingSense t;
    t.kind = "text";
    t.port = "text";
    t.items = torch::stack(rows);
    t.labels = torch::tensor(labels, torch::kLong);
    t.dev = task.text_dev > 0 ? fortune_windows(src.fortunes, task.text_dev, src.text_length, gen)
                              : torch::zeros({0, src.text_length});
    d.senses.push_back(std::move(t));
  }
  if (task.rule != "none") add_rule(d, task, src);
  // The stream: each sense's items in a shuffled order (mnist keeps its own shuffle).
  std::vector<torch::Tensor> orders;
  for (const auto& s : d.senses)
    orders.push_back(s.kind == "mnist" ? torch::arange(s.items.size(0), torch::kLong)
                                       : torch::randperm(s.items.size(0), gen));
  build_stream(d, orders, &gen);
  std::string summary;
  for (const auto& s : d.senses)
    summary += (summary.empty() ? "" : ", ") + s.kind + " " + std::to_string(s.items.size(0));
  log_info("naming task: {} names; stream {} ({} episodes a pass)", d.names.size(), summary,
           d.stream_size());
  return d;
}

}  // namespace elarin::brain
