// Retina: the visual encoder. A small convolutional network maps a 28x28 image (784
// values in [0, 1]) to a unit 512-d embedding. It develops without labels: contrastive
// learning (SimCLR's InfoNCE, the image-image form of CLIP's objective) pulls two random
// augmentations of the same image together and pushes the other images of the batch away.
// So the brain that later learns names from reward was never given a label. With
// `pretrained: DIR` a Hugging Face CLIP vision tower encodes instead
// (regions/pretrained_sense.hpp).
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/progress.hpp"
#include "elarin/data/image_augment.hpp"
#include "regions/kinds.hpp"
#include "regions/module_state.hpp"
#include "regions/pretrained_sense.hpp"

namespace elarin::regions {
namespace {

struct RetinaSettings {
  int64_t embedding = 512;
  int64_t epochs = 5;
  int64_t batch = 256;
  double lr = 2e-3;
  double tau = 0.2;
  PretrainedSettings pre;  // region.retina.pretrained, .unit, .lora_*
  template <class V>
  void visit(V& v) {
    v("embedding", embedding, "size of the visual embedding (the output)", at_least(1));
    v("epochs", epochs, "contrastive development epochs over the unlabeled images", at_least(0));
    v("batch", batch, "images per contrastive batch (2x views)", at_least(2));
    v("lr", lr, "AdamW learning rate of the development", greater_than(0));
    v("tau", tau, "InfoNCE temperature", greater_than(0));
    pre.visit(v);
  }
};

struct RetinaNetImpl : torch::nn::Module {
  explicit RetinaNetImpl(int64_t embedding) {
    namespace nn = torch::nn;
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1)));
    conv3 =
        register_module("conv3", nn::Conv2d(nn::Conv2dOptions(64, 128, 3).stride(2).padding(1)));
    fc = register_module("fc", nn::Linear(128 * 7 * 7, embedding));
    head = register_module("head", nn::Linear(embedding, 128));  // contrastive projection only
  }
  torch::Tensor forward(const torch::Tensor& images) {  // (B, 1, 28, 28) -> (B, E)
    auto x = torch::relu(conv1(images));                // (B, 32, 28, 28)
    x = torch::relu(conv2(x));                          // (B, 64, 14, 14)
    x = torch::relu(conv3(x));                          // (B, 128, 7, 7)
    return fc(x.flatten(1));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Linear fc{nullptr}, head{nullptr};
};
TORCH_MODULE(RetinaNet);

class Retina : public brain::Region {
 public:
  Retina(const RetinaSettings& s, const brain::BrainFacts&)
      : Region("retina"), s_(checked(s, "region.retina")), net_(s.embedding) {
    net_->eval();
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"image", 784}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"embedding", s_.embedding}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    torch::NoGradGuard no_grad;
    const auto& image = in.at("image");
    if (image.abs().max().item<float>() == 0)  // nothing shown: no activity
      return {{"embedding", torch::zeros({s_.embedding})}};
    auto e = net_->forward(image.view({1, 1, 28, 28}))[0];
    return {{"embedding", e / e.norm().clamp_min(1e-12)}};
  }

  bool develops() const override { return true; }
  void develop(const torch::Tensor& samples, uint64_t seed) override {
    TORCH_CHECK(samples.dim() == 2 && samples.size(1) == 784, "retina.develop: expected (N, 784)");
    const int64_t n = samples.size(0), b = std::min<int64_t>(s_.batch, n);
    if (n < 2 || s_.epochs == 0) return;
    auto images = samples.view({n, 1, 28, 28});
    auto gen = at::detail::createCPUGenerator(seed);
    ImageAugment aug;
    torch::optim::AdamW opt(net_->parameters(),
                            torch::optim::AdamWOptions(s_.lr).weight_decay(1e-4));
    net_->train();
    const int64_t steps = n / b;
    ProgressBar bar(s_.epochs * steps, "retina: contrastive development", "batch");
    for (int64_t epoch = 0; epoch < s_.epochs; ++epoch) {
      auto order = torch::randperm(n, gen);
      double total = 0;
      for (int64_t i = 0; i < steps; ++i) {
        auto x = images.index_select(0, order.narrow(0, i * b, b));
        namespace F = torch::nn::functional;
        auto z = F::normalize(
            net_->head(torch::relu(net_->forward(torch::cat({aug(x, gen), aug(x, gen)})))),
            F::NormalizeFuncOptions().dim(1));  // (2b, 128)
        auto loss = two_view_info_nce(z, s_.tau);
        opt.zero_grad();
        loss.backward();
        opt.step();
        total += loss.item<double>();
        bar.update();
      }
      log_info("retina: epoch {} contrastive loss {:.4f}", epoch + 1, total / double(steps));
    }
    bar.finish();
    net_->eval();
  }

  brain::RegionState state() const override {
    brain::RegionState st;
    add_module_state(st, "net", *net_);
    return st;
  }
  void load_state(const brain::RegionState& st) override {
    check_module_state(st, "net", *net_);  // validate everything, then copy
    copy_module_state(st, "net", *net_);
  }
  void initialise(uint64_t seed) override {
    torch::manual_seed(seed);
    net_ = RetinaNet(s_.embedding);  // LibTorch's default: Kaiming-uniform
    net_->eval();
  }

 private:
  RetinaSettings s_;
  RetinaNet net_;
};

}  // namespace

brain::RegionKind retina_kind() {
  auto kind = brain::make_region_kind<Retina, RetinaSettings>(
      "retina", "visual encoder: 28x28 image -> unit 512-d embedding, contrastive development");
  // With `pretrained` set, the region encodes with that Hugging Face model (+ LoRA adapters).
  kind.make = [](const brain::RegionSettings& rs,
                 const brain::BrainFacts& facts) -> std::unique_ptr<brain::Region> {
    const auto& s = static_cast<const brain::SettingsOf<RetinaSettings>&>(rs).value;
    if (s.pre.pretrained.empty()) return std::make_unique<Retina>(s, facts);
    check_constraints(s, "region.retina");
    return make_pretrained_sense({"retina", {"image", 784}, "embedding", "pixel_values",
                                  std::nullopt, s.pre});
  };
  return kind;
}

}  // namespace elarin::regions
