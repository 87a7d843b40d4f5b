// The hearing pathway on its own: the cochlea's contrastive development makes two
// augmentations of one sound closer than other sounds (retrieval beats the random encoder);
// cochlea and auditory come back from their saved state with identical outputs; silence
// gives no activity; a state of the wrong shape is refused and changes nothing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/data/audio_augment.hpp"
#include "regions/region_test_util.hpp"

namespace {

using elarin::test::Made;

// n "words": 0.6 s of two gliding tones with their own frequencies and rhythm, at 16 kHz,
// then silence up to `samples`.
torch::Tensor synthetic_words(int64_t n, int64_t samples, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto t = torch::arange(9600, torch::kFloat) / 16000.0;  // (T) seconds
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < n; ++i) {
    auto f = torch::rand({4}, gen) * 1500 + 200;  // start and end of two tones, Hz
    auto r = torch::rand({1}, gen) * 8 + 2;       // syllable rate, Hz
    auto glide = [&](int a, int b) {
      auto freq = f[a] + (f[b] - f[a]) * t / 0.6;
      return torch::sin(2 * M_PI * freq.cumsum(0) / 16000.0);  // phase = 2 pi * integral of f
    };
    auto env = torch::sin(M_PI * r * t).abs();
    auto x = 0.3 * env * (glide(0, 1) + 0.5 * glide(2, 3));
    rows.push_back(torch::constant_pad_nd(x, {0, samples - x.size(0)}));
  }
  return torch::stack(rows);
}

// How often an augmented view's nearest clean embedding is its own sound.
double retrieval(elarin::brain::Region& cochlea, const torch::Tensor& sounds, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  elarin::AudioAugment aug;
  aug.noise = 0.005;
  auto views = aug.wave(sounds, gen);
  elarin::brain::TickContext ctx;
  std::vector<torch::Tensor> clean, seen;
  for (int64_t i = 0; i < sounds.size(0); ++i) {
    clean.push_back(cochlea.tick(ctx, {{"audio", sounds[i]}}).at("embedding"));
    seen.push_back(cochlea.tick(ctx, {{"audio", views[i]}}).at("embedding"));
  }
  auto sim = torch::mm(torch::stack(seen), torch::stack(clean).t());  // (N, N)
  auto hit = sim.argmax(1) == torch::arange(sounds.size(0));
  return hit.to(torch::kFloat).mean().item<double>();
}

TEST(Cochlea, ContrastiveDevelopmentMakesAugmentedViewsFindTheirSound) {
  const std::vector<std::string> sets = {"region.cochlea.width=32",  "region.cochlea.heads=2",
                                         "region.cochlea.layers=1",  "region.cochlea.embedding=64",
                                         "region.cochlea.epochs=40", "region.cochlea.batch=32",
                                         "region.cochlea.lr=3e-3"};
  Made m("cochlea", sets);
  m.region->initialise(3);
  auto sounds = synthetic_words(64, 19200, 1);
  const double before = retrieval(*m.region, sounds, 9);
  m.region->develop(sounds, 4);
  const double after = retrieval(*m.region, sounds, 9);
  std::printf("view -> own sound retrieval: random encoder %.3f, developed %.3f\n", before, after);
  EXPECT_GT(after, 0.7);  // 0.875 measured; the random encoder 0.14
  EXPECT_GT(after, before + 0.4);
}

TEST(HearingPathway, SavedStateGivesIdenticalOutputsAndSilenceIsQuiet) {
  elarin::test::expect_encoder_round_trip(
      "cochlea", {"region.cochlea.width=32", "region.cochlea.heads=2", "region.cochlea.layers=1"},
      "audio", synthetic_words(1, 19200, 2)[0]);
  elarin::test::expect_encoder_round_trip("auditory", {}, "input", torch::randn({512}),
                                          torch::randn({300, 512}));
}

TEST(Cochlea, BadSettingsAreUsageErrors) {
  EXPECT_THROW(Made("cochlea", {"region.cochlea.n_mels=64"}), elarin::UsageError);
  EXPECT_THROW(Made("cochlea", {"region.cochlea.width=30", "region.cochlea.heads=4"}),
               elarin::UsageError);
  EXPECT_THROW(Made("auditory", {"region.auditory.features=600"}), elarin::UsageError);
}

}  // namespace
