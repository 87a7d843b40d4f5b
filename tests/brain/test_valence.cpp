// The valence table through a developed wernicke: the amygdala hears praise and scolding it
// was never given (phrases outside the table) with the right sign, and the table's own
// phrases with |valence| near 1. Needs Debian's fortunes (wernicke's development text).
// Wernicke develops 600 steps and the table's phrases must reach 0.85: that holds for
// brain.seed 1 to 5; with 300 steps and 0.9 two seeds of five failed (session 12).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "brain/brain_test_util.hpp"
#include "elarin/brain/brain.hpp"
#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/brain/valence.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using elarin::brain::appraise;

TEST(Valence, TheAmygdalaHearsPraiseAndScoldingItWasNeverGiven) {
  if (!fs::exists("/usr/share/games/fortunes")) GTEST_SKIP() << "fortunes absent";
  elarin::test::TempDir dir;
  elarin::test::YamlBrain yb(R"(
brain:
  regions: [wernicke, amygdala]
  env_ports: ["text=32"]
  connections:
    - env.text -> wernicke.text
    - wernicke.meaning -> amygdala.meaning
region:
  wernicke: {steps: 600}
)",
                             dir.path, {});
  const auto& setup = yb.setup;
  elarin::brain::Brain brain(setup);
  EXPECT_EQ(appraise(brain, "well done"), 0.0) << "no table yet";
  const auto fresh = brain.load_or_initialise();
  elarin::brain::NamingTaskConfig task;
  task.stimuli = {"text"};
  task.text_dev = 4000;
  elarin::brain::NamingSources src;
  src.fortunes = "/usr/share/games/fortunes";
  const auto data = elarin::brain::naming_data(task, src);
  const auto developed = elarin::brain::develop_senses(brain, data, fresh, 1);
  ASSERT_EQ(developed, (std::vector<std::string>{"wernicke", "amygdala"}));

  for (const auto& p : elarin::brain::valence_phrases())
    EXPECT_GT(appraise(brain, p.text) * p.valence, 0.85) << p.text;
  const std::vector<std::pair<std::string, int>> unseen = {
      {"very good", 1},         {"good work", 1},          {"yes!", 1},
      {"well done, thanks", 1}, {"that's correct", 1},     {"great job", 1},
      {"excellent work", 1},    {"perfect, thank you", 1}, {"no no", -1},
      {"wrong answer", -1},     {"that is wrong", -1},     {"bad job", -1},
      {"terrible answer", -1},  {"nope, try again", -1},   {"awful!", -1},
      {"wrong, no", -1}};
  int right = 0;
  for (const auto& [text, sign] : unseen) {
    const double v = appraise(brain, text);
    right += v * sign > 0;
    std::printf("  %-20s valence %+.3f (want %+d)\n", text.c_str(), v, sign);
  }
  EXPECT_GE(right, 14) << "of " << unseen.size() << " phrases outside the table";
  EXPECT_EQ(appraise(brain, ""), 0.0) << "nothing read: no valence";

  brain.save();
  EXPECT_TRUE(fs::exists(dir.path + "/valence.safetensors"));
  EXPECT_FALSE(fs::exists(dir.path + "/amygdala.safetensors"));
  elarin::brain::Brain again(setup);
  EXPECT_TRUE(again.load_or_initialise().empty()) << "both resume from their files";
  EXPECT_EQ(appraise(again, "great job"), appraise(brain, "great job"));
}

}  // namespace
