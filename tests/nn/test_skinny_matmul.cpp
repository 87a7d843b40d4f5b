// nn::skinny_mm (the decoder's few-row matmul on packed weights) against a float64 torch::mm:
// every row count of its tiles (1..8) and past them (9..17: two tiles), column counts that
// leave partial panels (5, 65, 200), bias and addend, and a matrix big enough to be split over
// threads; the rows read back out of either layout.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/runtime.hpp"
#include "elarin/nn/skinny_matmul.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::test::max_abs_diff;

// Packs w_t (in, out) through the (out, in) form, as the decoder packs nn::Linear weights.
elarin::nn::SkinnyWeight pack(const torch::Tensor& w_t) {
  return elarin::nn::SkinnyWeight::pack(w_t.t().contiguous());
}

// float64 reference of x @ w_t + b + acc.
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w_t, const torch::Tensor& b,
                        const torch::Tensor& acc) {
  // w_t (in, out); skinny_mm gets it packed from the (out, in) form nn::Linear holds.
  auto y = torch::mm(x.to(torch::kDouble), w_t.to(torch::kDouble));
  if (b.defined()) y = y + b.to(torch::kDouble);
  if (acc.defined()) y = y + acc.to(torch::kDouble);
  return y;
}

TEST(SkinnyMatmul, MatchesMatmulForEveryRowCountAndRaggedColumns) {
  torch::manual_seed(0);
  for (int64_t K : {1, 32, 129})
    for (int64_t O : {5, 65, 200})
      for (int64_t N = 1; N <= 17; ++N) {
        auto x = torch::randn({N, K}), w = torch::randn({K, O});
        auto y = elarin::nn::skinny_mm(x, pack(w));
        ASSERT_EQ(y.sizes(), (std::vector<int64_t>{N, O}));
        // float32 sums of K products of unit normals, in another order than BLAS: within
        // K * 1e-6 of float64 (an entry is ~sqrt(K); a wrong row or column is off by ~1).
        EXPECT_LE(max_abs_diff(y, reference(x, w, {}, {})), 1e-6 * static_cast<double>(K))
            << "N " << N << " K " << K << " O " << O;
      }
}

TEST(SkinnyMatmul, AddsBiasAndAddend) {
  torch::manual_seed(1);
  for (int64_t N : {1, 4, 6, 11}) {
    auto x = torch::randn({N, 96}), w = torch::randn({96, 70});
    auto b = torch::randn({70}), acc = torch::randn({N, 70});
    EXPECT_LE(max_abs_diff(elarin::nn::skinny_mm(x, pack(w), b), reference(x, w, b, {})), 2e-5);
    EXPECT_LE(max_abs_diff(elarin::nn::skinny_mm(x, pack(w), {}, acc), reference(x, w, {}, acc)), 2e-5);
    EXPECT_LE(max_abs_diff(elarin::nn::skinny_mm(x, pack(w), b, acc), reference(x, w, b, acc)), 2e-5);
    // The addend is read, not written.
    auto before = acc.clone();
    elarin::nn::skinny_mm(x, pack(w), b, acc);
    EXPECT_TRUE(torch::equal(acc, before));
  }
}

TEST(SkinnyMatmul, SplitsLargeMatricesOverThreadsWithTheSameResult) {
  torch::manual_seed(2);
  const int threads = at::get_num_threads();
  auto x = torch::randn({3, 512}), w = torch::randn({512, 1000});
  at::set_num_threads(1);
  auto one = elarin::nn::skinny_mm(x, pack(w));
  at::set_num_threads(2);
  auto two = elarin::nn::skinny_mm(x, pack(w));
  at::set_num_threads(threads);
  // Each output column is one thread's, summed in the same order: bit-identical.
  EXPECT_TRUE(torch::equal(one, two));
  EXPECT_LE(max_abs_diff(one, reference(x, w, {}, {})), 1e-4);
}

TEST(SkinnyMatmul, NonContiguousOrDoubleInputsTakeTorchsPath) {
  auto x = torch::randn({8, 4}).t();  // (4, 8) not contiguous
  auto w = torch::randn({8, 6});
  EXPECT_LE(max_abs_diff(elarin::nn::skinny_mm(x, pack(w)), reference(x, w, {}, {})), 1e-5);
  auto xd = torch::randn({2, 8}, torch::kDouble);
  EXPECT_EQ(elarin::nn::skinny_mm(xd, pack(w)).scalar_type(), torch::kDouble);
  EXPECT_LE(max_abs_diff(elarin::nn::skinny_mm(xd, pack(w)), reference(xd, w, {}, {})), 1e-5);
}

TEST(SkinnyMatmul, PackingAcceptsEitherOrientation) {
  auto w = torch::randn({7, 20});  // (out, in)
  auto a = elarin::nn::SkinnyWeight::pack(w), b = elarin::nn::SkinnyWeight::pack(w.t(), true);
  EXPECT_EQ(a.in, 20);
  EXPECT_EQ(a.out, 7);
  EXPECT_TRUE(torch::equal(a.data, b.data));
}

TEST(SkinnyMatmul, MismatchedShapesAreErrorsNamingThem) {
  auto x = torch::randn({2, 8}), w = torch::randn({9, 6});
  try {
    elarin::nn::skinny_mm(x, pack(w));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("a weight of 9 inputs and 6 outputs"), std::string::npos)
        << e.what();
  }
}

// skinny_rows reads the original matrix's rows back out of the panels (ragged last panel
// included) and out of the portable layout; an output past the end is an error naming it.
TEST(SkinnyMatmul, RowsComeBackExactlyFromEitherLayout) {
  torch::manual_seed(5);
  const auto w = torch::randn({37, 20});  // 37 outputs: the last panel holds 5
  for (const bool avx512 : {true, false}) {
    elarin::set_avx512_kernels(avx512);
    const auto pw = elarin::nn::SkinnyWeight::pack(w);
    const std::vector<int64_t> outs = {0, 15, 16, 36, 3, 3};
    const auto rows = elarin::nn::skinny_rows(pw, outs);
    ASSERT_EQ(rows.sizes(), torch::IntArrayRef({6, 20}));
    EXPECT_TRUE(torch::equal(rows, w.index_select(0, torch::tensor(outs, torch::kLong))))
        << "avx512 " << avx512;
    try {
      elarin::nn::skinny_rows(pw, {37});
      ADD_FAILURE() << "expected an error";
    } catch (const c10::Error& e) {
      EXPECT_NE(std::string(e.what()).find("output 37 outside 0..36"), std::string::npos) << e.what();
    }
  }
  elarin::set_avx512_kernels(true);
}

}  // namespace
