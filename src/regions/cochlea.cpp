// Cochlea: the sound encoder. The world's audio port (16 kHz samples, 1.2 s by default) is
// turned into Whisper's log-mel features and encoded by a small Whisper-style encoder (two
// convolutions, sinusoidal positions, pre-LN transformer layers: models/hf/whisper_encoder),
// pooled over time (mean and standard deviation) and mapped to a unit 512-d embedding. It develops
// without labels: contrastive learning (InfoNCE, as the retina) pulls two augmentations of the same
// utterance together (time shift, gain, noise, SpecAugment masks) and pushes the batch's others
// away. With `pretrained: DIR` a Hugging Face Whisper encoder encodes instead
// (regions/pretrained_sense.hpp).
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/progress.hpp"
#include "elarin/data/audio_augment.hpp"
#include "elarin/data/log_mel.hpp"
#include "elarin/models/hf/whisper_encoder.hpp"
#include "regions/kinds.hpp"
#include "regions/module_state.hpp"
#include "regions/pretrained_sense.hpp"

namespace elarin::regions {
namespace {

struct CochleaSettings {
  int64_t samples = 19200;
  int64_t n_mels = 80;
  int64_t width = 64;
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t embedding = 512;
  int64_t epochs = 40;
  int64_t batch = 64;
  double lr = 1e-3;
  double tau = 0.2;
  PretrainedSettings pre;  // region.cochlea.pretrained, .unit, .lora_*
  template <class V>
  void visit(V& v) {
    v("samples", samples, "audio port size: 16 kHz samples (19200 = 1.2 s)",
      at_least(2 * kWhisperHop));
    v("n_mels", n_mels, "mel bands of the log-mel features: 80 or 128 (Whisper's)");
    v("width", width, "encoder width (d_model): even and divisible by heads", at_least(2));
    v("layers", layers, "encoder transformer layers", at_least(0));
    v("heads", heads, "attention heads", at_least(1));
    v("embedding", embedding, "size of the sound embedding (the output)", at_least(1));
    v("epochs", epochs, "contrastive development epochs over the unlabeled utterances",
      at_least(0));
    v("batch", batch, "utterances per contrastive batch (2x views)", at_least(2));
    v("lr", lr, "AdamW learning rate of the development", greater_than(0));
    v("tau", tau, "InfoNCE temperature", greater_than(0));
    pre.visit(v);
  }
};

WhisperEncoderConfig encoder_config(const CochleaSettings& s) {
  WhisperEncoderConfig c;
  c.num_mel_bins = s.n_mels;
  c.d_model = s.width;
  c.encoder_layers = s.layers;
  c.encoder_attention_heads = s.heads;
  c.encoder_ffn_dim = 4 * s.width;
  c.max_source_positions = (s.samples / kWhisperHop + 1) / 2;
  return c;
}

// Whisper's sinusoids(length, channels): sin then cos, timescales 1 .. 10000.
torch::Tensor sinusoids(int64_t length, int64_t channels) {
  const int64_t half = channels / 2;
  const double step = std::log(10000.0) / double(std::max<int64_t>(1, half - 1));
  auto inv = torch::exp(-step * torch::arange(half, torch::kDouble));              // (C/2)
  auto t = torch::arange(length, torch::kDouble).unsqueeze(1) * inv.unsqueeze(0);  // (L, C/2)
  return torch::cat({torch::sin(t), torch::cos(t)}, 1).to(torch::kFloat);
}

struct CochleaNetImpl : torch::nn::Module {
  explicit CochleaNetImpl(const CochleaSettings& s) {
    encoder = register_module("encoder", WhisperEncoder(encoder_config(s)));
    fc = register_module("fc", torch::nn::Linear(2 * s.width, s.embedding));
    head = register_module("head", torch::nn::Linear(s.embedding, 128));  // contrastive only
    torch::NoGradGuard no_grad;
    // Whisper's sinusoids at a tenth of their size: at full size they swamp an untrained
    // encoder's convolutions (std 1 against ~0.1), every utterance pools to nearly the same
    // vector (cosine 0.997) and contrastive learning has no gradient to start from.
    encoder->embed_positions->weight.copy_(
        0.1 * sinusoids(encoder->config().max_source_positions, s.width));
    encoder->embed_positions->weight.set_requires_grad(false);  // fixed, as Whisper's
  }
  torch::Tensor forward(const torch::Tensor& mel) {  // (B, n_mels, T) -> (B, E)
    auto h = encoder->forward(mel).last;             // (B, T/2, C)
    // Statistics pooling (x-vectors): the mean and the spread over time.
    return fc(torch::cat({h.mean(1), h.std(1, /*unbiased=*/false)}, 1));  // (B, 2C) -> (B, E)
  }
  WhisperEncoder encoder{nullptr};
  torch::nn::Linear fc{nullptr}, head{nullptr};
};
TORCH_MODULE(CochleaNet);

class CochleaRegion : public brain::Region {
 public:
  CochleaRegion(const CochleaSettings& s, const brain::BrainFacts&)
      : Region("cochlea"), s_(s), net_(check(s)) {
    net_->eval();
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"audio", s_.samples}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"embedding", s_.embedding}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    torch::NoGradGuard no_grad;
    const auto& audio = in.at("audio");
    if (audio.abs().max().item<float>() == 0)  // silence: no activity
      return {{"embedding", torch::zeros({s_.embedding})}};
    auto e = net_->forward(log_mel_spectrogram(audio.unsqueeze(0), s_.n_mels))[0];
    return {{"embedding", e / e.norm().clamp_min(1e-12)}};
  }

  bool develops() const override { return true; }
  void develop(const torch::Tensor& samples, uint64_t seed) override {
    TORCH_CHECK(samples.dim() == 2 && samples.size(1) == s_.samples,
                "cochlea.develop: expected (N, ", s_.samples, ")");
    const int64_t n = samples.size(0), b = std::min<int64_t>(s_.batch, n);
    if (n < 2 || s_.epochs == 0) return;
    auto gen = at::detail::createCPUGenerator(seed);
    AudioAugment aug;
    std::vector<torch::Tensor> params;
    for (const auto& p : net_->parameters())
      if (p.requires_grad()) params.push_back(p);
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(s_.lr).weight_decay(1e-4));
    net_->train();
    const int64_t steps = n / b;
    ProgressBar bar(s_.epochs * steps, "cochlea: contrastive development", "batch");
    namespace F = torch::nn::functional;
    auto view = [&](const torch::Tensor& x) {
      return aug.spectrogram(log_mel_spectrogram(aug.wave(x, gen), s_.n_mels), gen);
    };
    for (int64_t epoch = 0; epoch < s_.epochs; ++epoch) {
      auto order = torch::randperm(n, gen);
      double total = 0;
      for (int64_t i = 0; i < steps; ++i) {
        auto x = samples.index_select(0, order.narrow(0, i * b, b));
        auto z =
            F::normalize(net_->head(torch::gelu(net_->forward(torch::cat({view(x), view(x)})))),
                         F::NormalizeFuncOptions().dim(1));  // (2b, 128)
        auto loss = two_view_info_nce(z, s_.tau);
        opt.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(params, 1.0);  // transformers diverge without it
        opt.step();
        total += loss.item<double>();
        bar.update();
      }
      if ((epoch + 1) % 10 == 0 || epoch + 1 == s_.epochs)
        log_info("cochlea: epoch {} contrastive loss {:.4f}", epoch + 1, total / double(steps));
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
    net_ = CochleaNet(s_);  // LibTorch's default: Kaiming-uniform; positions sinusoidal
    net_->eval();
  }

 private:
  static const CochleaSettings& check(const CochleaSettings& s) {
    check_constraints(s, "region.cochlea");
    if (s.n_mels != 80 && s.n_mels != 128)
      throw UsageError("region.cochlea.n_mels: got " + std::to_string(s.n_mels) +
                       ", expected 80 or 128");
    if (s.width % 2 || s.width % s.heads)
      throw UsageError("region.cochlea.width: got " + std::to_string(s.width) +
                       ", expected an even multiple of region.cochlea.heads (" +
                       std::to_string(s.heads) + ")");
    return s;
  }
  CochleaSettings s_;
  CochleaNet net_;
};

}  // namespace

brain::RegionKind cochlea_kind() {
  auto kind = brain::make_region_kind<CochleaRegion, CochleaSettings>(
      "cochlea", "sound encoder: 16 kHz audio -> log-mel -> Whisper-style encoder -> unit 512-d");
  // With `pretrained` set, the region encodes with that Hugging Face model (+ LoRA adapters).
  kind.make = [](const brain::RegionSettings& rs,
                 const brain::BrainFacts& facts) -> std::unique_ptr<brain::Region> {
    const auto& s = static_cast<const brain::SettingsOf<CochleaSettings>&>(rs).value;
    if (s.pre.pretrained.empty()) return std::make_unique<CochleaRegion>(s, facts);
    check_constraints(s, "region.cochlea");
    return make_pretrained_sense({"cochlea", {"audio", s.samples}, "embedding", "input_features",
                                  std::nullopt, s.pre});
  };
  return kind;
}

}  // namespace elarin::regions
