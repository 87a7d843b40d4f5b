// The valence phrases, the amygdala's table built through wernicke, and appraisal of words
// (see the header).
#include "elarin/brain/valence.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::brain {
namespace {

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// wernicke's meaning of `text` (its text port's size is read from the region).
torch::Tensor meaning_of(Region& wernicke, const std::string& text) {
  const auto port = wernicke.inputs().at(0);
  TickContext ctx;
  return wernicke.tick(ctx, {{port.name, text_row(text, port.size)}}).at("meaning");
}

}  // namespace

const std::vector<ValencePhrase>& valence_phrases() {
  // Short, as people rate: up to 32 bytes (wernicke's text port). Kept in this order: the
  // amygdala's development rows follow it.
  static const std::vector<ValencePhrase> phrases = {
      {"good", 1},
      {"good job", 1},
      {"well done", 1},
      {"yes", 1},
      {"yes, that's right", 1},
      {"right", 1},
      {"correct", 1},
      {"great", 1},
      {"excellent", 1},
      {"nice work", 1},
      {"perfect", 1},
      {"that's it", 1},
      {"you got it", 1},
      {"bravo", 1},
      {"thank you", 1},
      {"no", -1},
      {"wrong", -1},
      {"bad", -1},
      {"that's wrong", -1},
      {"no, that's not it", -1},
      {"incorrect", -1},
      {"bad answer", -1},
      {"not right", -1},
      {"try again", -1},
      {"nope", -1},
      {"terrible", -1},
      {"that is a mistake", -1},
      {"you got it wrong", -1},
      {"stop that", -1},
      {"awful", -1},
  };
  return phrases;
}

bool develop_valence(Brain& brain, const std::vector<std::string>& fresh, uint64_t seed) {
  if (!has(brain.order(), "amygdala") || !has(brain.order(), "wernicke")) return false;
  if (!has(fresh, "amygdala") && !has(fresh, "wernicke")) return false;
  torch::NoGradGuard no_grad;
  auto& wernicke = brain.region("wernicke");
  std::vector<torch::Tensor> rows;
  for (const auto& p : valence_phrases())
    rows.push_back(brain.carry("wernicke", "meaning", "amygdala", "meaning",
                               meaning_of(wernicke, p.text)));
  log_info("development: amygdala's valence table through wernicke ({} phrases)", rows.size());
  brain.region("amygdala").develop(torch::stack(rows), seed);
  return true;
}

double appraise(Brain& brain, const std::string& text) {
  if (!has(brain.order(), "amygdala") || !has(brain.order(), "wernicke")) return 0.0;
  torch::NoGradGuard no_grad;
  auto meaning = meaning_of(brain.region("wernicke"), text);
  auto& amygdala = brain.region("amygdala");
  Ports in;
  for (const auto& p : amygdala.inputs()) in[p.name] = torch::zeros({p.size});
  in["meaning"] = brain.carry("wernicke", "meaning", "amygdala", "meaning", meaning);
  TickContext ctx;
  return amygdala.tick(ctx, in).at("mood").item<double>();
}

}  // namespace elarin::brain
