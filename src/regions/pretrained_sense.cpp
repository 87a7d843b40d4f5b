// Pretrained sense regions with online LoRA adapters (see the header).
#include "regions/pretrained_sense.hpp"

#include <torch/torch.h>

#include <cmath>
#include <deque>
#include <filesystem>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/data/audio_augment.hpp"
#include "elarin/data/hf_tokenizer.hpp"
#include "elarin/data/image_augment.hpp"
#include "elarin/models/hf/gpt2.hpp"
#include "elarin/models/hf/loader.hpp"
#include "elarin/models/hf/preprocess.hpp"
#include "elarin/nn/lora.hpp"
#include "regions/module_state.hpp"

namespace elarin::regions {
namespace {

namespace F = torch::nn::functional;

std::string describe(const std::string& takes) {
  if (takes == "pixel_values") return "pixel_values (a CLIP vision model)";
  if (takes == "input_features") return "input_features (a Whisper encoder)";
  return "input_ids (a causal LM such as GPT-2)";
}

// `<state_dir>/<region>.safetensors` -> `<state_dir>/<region>.lora.safetensors`.
std::string lora_path(const std::string& state_path) {
  std::filesystem::path p(state_path);
  return (p.parent_path() / (p.stem().string() + ".lora.safetensors")).string();
}

class PretrainedSense : public brain::Region {
 public:
  explicit PretrainedSense(const PretrainedSenseSpec& spec)
      : Region(spec.region), spec_(spec), s_(spec.settings) {
    const std::string key = "region." + spec.region + ".pretrained";
    if (!std::filesystem::is_directory(s_.pretrained))
      throw UsageError(key + ": '" + s_.pretrained + "' is not a directory (expected a Hugging " +
                       "Face model directory: config.json + model.safetensors)");
    model_ = load_hf_model(s_.pretrained);
    if (model_->input_name() != spec.takes)
      throw UsageError(key + ": '" + s_.pretrained + "' is a " + model_->model_type() +
                       " model taking " + model_->input_name() + "; region " + spec.region +
                       " needs one taking " + describe(spec.takes));
    if (spec.layer && (*spec.layer < 1 || *spec.layer > model_->layer_count()))
      throw UsageError("region." + spec.region + ".layers: got " + std::to_string(*spec.layer) +
                       ", expected 1.." + std::to_string(model_->layer_count()) + " (the blocks of " +
                       s_.pretrained + ")");
    size_ = model_->output_size("pooled");
    if (spec.takes == "pixel_values") {
      image_ = ImageProcessorConfig::load(s_.pretrained);
      side_ = static_cast<int64_t>(std::lround(std::sqrt(double(spec.input.size))));
      if (side_ * side_ != spec.input.size)
        throw UsageError("region." + spec.region + ": the image port (" +
                         std::to_string(spec.input.size) + " values) is not a square image");
    } else if (spec.takes == "input_features") {
      auto shape = model_->input_shape();  // (B, n_mels, frames)
      mels_ = shape.at(1);
      frames_ = shape.at(2);
    } else if (has_hf_tokenizer(s_.pretrained)) {
      tokenizer_ = load_hf_tokenizer(s_.pretrained);
    } else {
      const auto outs = model_->outputs();
      const bool small = std::find(outs.begin(), outs.end(), "logits") != outs.end() &&
                         model_->output_size("logits") < 256;
      if (small)
        throw UsageError(key + ": '" + s_.pretrained + "' has no tokenizer files and a " +
                         "vocabulary of " + std::to_string(model_->output_size("logits")) +
                         " tokens, too few to read bytes (expected tokenizer.json, or >= 256)");
    }
    if (s_.lora_rank > 0) {
      nn::LoraOptions o;
      o.rank = s_.lora_rank;
      o.alpha = s_.lora_alpha;
      lora_ = std::make_unique<nn::LoraAdapters>(model_->module(), o, 1);
      add_conv1d_layers(o);
      if (lora_->size() == 0)
        throw UsageError("region." + spec.region + ".lora_rank: " + s_.pretrained +
                         " has no attention or MLP projection to adapt (set lora_rank: 0)");
      opt_ = std::make_unique<torch::optim::AdamW>(
          lora_->parameters(), torch::optim::AdamWOptions(s_.lora_lr).weight_decay(0));
    }
    log_info("{}: pretrained {} ({}), {}-d output, {}", spec.region, s_.pretrained,
             model_->architecture(), size_,
             lora_ ? "LoRA rank " + std::to_string(s_.lora_rank) + " on " +
                         std::to_string(lora_->size()) + " projections (" +
                         std::to_string(lora_->parameter_count()) + " parameters)"
                   : std::string("frozen"));
  }

  std::vector<brain::PortSpec> inputs() const override { return {spec_.input}; }
  std::vector<brain::PortSpec> outputs() const override { return {{spec_.output, size_}}; }

  brain::Ports tick(const brain::TickContext& ctx, const brain::Ports& in) override {
    const auto& x = in.at(spec_.input.name);
    if (x.abs().max().item<float>() == 0) return {{spec_.output, torch::zeros({size_})}};
    torch::Tensor e;
    {
      torch::NoGradGuard no_grad;
      e = embed(x, false)[0];
    }
    if (lora_) remember(x, ctx.seed);
    if (s_.unit) e = e / e.norm().clamp_min(1e-12);
    return {{spec_.output, e.contiguous()}};
  }

  std::map<std::string, double> learning() const override {
    if (!lora_) return {};
    return {{"lora_steps", double(steps_)}};
  }

  brain::RegionState state() const override {
    if (!lora_) return {};
    auto st = lora_->state();
    st["lora_steps"] = torch::tensor({steps_}, torch::kLong);
    return st;
  }
  void load_state(const brain::RegionState& st) override {
    if (!lora_) return;
    const auto& steps = brain::state_tensor(st, "lora_steps", {1}, torch::kLong);
    lora_->load_state(st);  // validates all, then copies
    steps_ = steps[0].item<int64_t>();
  }
  void initialise(uint64_t seed) override {
    if (!lora_) return;
    lora_->reset(seed);
    opt_ = std::make_unique<torch::optim::AdamW>(
        lora_->parameters(), torch::optim::AdamWOptions(s_.lora_lr).weight_decay(0));
    steps_ = 0;
    recent_.clear();
    fresh_ = 0;
  }
  // The adapters live in `<state_dir>/<region>.lora.safetensors`; the base model's directory
  // is only ever read.
  Restored restore(const std::string& path, bool neurogenesis, uint64_t seed) override {
    return Region::restore(lora_path(path), neurogenesis, seed);
  }
  bool persist(const std::string& path,
               const std::map<std::string, std::string>& metadata) const override {
    auto m = metadata;
    m["base_model"] = s_.pretrained;
    m["lora_rank"] = std::to_string(s_.lora_rank);
    m["lora_alpha"] = std::to_string(s_.lora_alpha);
    return Region::persist(lora_path(path), m);
  }

 private:
  // GPT-2's projections are Conv1D (weights stored (in, out)), not torch::nn::Linear.
  void add_conv1d_layers(const nn::LoraOptions& o) {
    for (const auto& item : model_->module().named_modules()) {
      auto conv = std::dynamic_pointer_cast<Conv1DImpl>(item.value());
      if (!conv) continue;
      const auto dot = item.key().rfind('.');
      const std::string part = dot == std::string::npos ? item.key() : item.key().substr(dot + 1);
      if (std::find(o.targets.begin(), o.targets.end(), part) != o.targets.end())
        lora_->add(item.key(), conv, &conv->weight, true);
    }
    lora_->reset(1);
  }

  // One port value (size) -> the model's input (1, ...); undefined when it holds nothing.
  torch::Tensor model_input(const torch::Tensor& x) const {
    if (spec_.takes == "pixel_values") {
      auto gray = (x.clamp(0, 1) * 255).round().to(torch::kByte).view({side_, side_, 1});
      return clip_pixel_values(gray.expand({side_, side_, 3}).contiguous(), image_).unsqueeze(0);
    }
    if (spec_.takes == "input_features")
      return whisper_input_features(x.to(torch::kFloat), mels_, frames_).unsqueeze(0);
    auto bytes = x.round().clamp(0, 255).to(torch::kLong);
    auto zero = (bytes == 0).nonzero();
    const int64_t len = zero.size(0) > 0 ? zero[0][0].item<int64_t>() : bytes.size(0);
    if (len == 0) return {};
    std::vector<int64_t> ids;
    if (tokenizer_) {
      std::string text;
      for (int64_t i = 0; i < len; ++i) text += static_cast<char>(bytes[i].item<int64_t>());
      ids = tokenizer_->encode(text);
    } else {
      auto b = bytes.narrow(0, 0, len).contiguous();
      ids.assign(b.data_ptr<int64_t>(), b.data_ptr<int64_t>() + len);
    }
    if (ids.empty()) return {};
    return torch::tensor(ids, torch::kLong).unsqueeze(0);
  }

  // (size) or (B, size) port values -> (B, D) pooled outputs, with autograd when `grad`.
  torch::Tensor embed(const torch::Tensor& x, bool grad) {
    auto rows = x.dim() == 1 ? x.unsqueeze(0) : x;
    std::vector<torch::Tensor> inputs;
    for (int64_t i = 0; i < rows.size(0); ++i) inputs.push_back(model_input(rows[i]));
    HfEncodeRequest request("pooled", spec_.layer);
    request.grad = grad;
    if (spec_.takes != "input_ids") return model_->encode(torch::cat(inputs), request);
    std::vector<torch::Tensor> out;  // texts of different lengths: one at a time
    for (const auto& ids : inputs)
      out.push_back(ids.defined() ? model_->encode(ids, request)
                                  : torch::zeros({1, size_}));
    return torch::cat(out);
  }

  // An augmented view of each row of (B, size) port values.
  torch::Tensor augment(const torch::Tensor& rows, at::Generator& gen) const {
    if (spec_.takes == "pixel_values") {
      auto views = ImageAugment{}(rows.view({-1, 1, side_, side_}), gen).clamp(0, 1);
      return views.reshape({rows.size(0), -1});
    }
    if (spec_.takes == "input_features") return AudioAugment{}.wave(rows, gen);
    // Text: a random span of at least 60% of the bytes, moved to the start.
    auto out = torch::zeros_like(rows);
    for (int64_t i = 0; i < rows.size(0); ++i) {
      auto row = rows[i];
      auto zero = (row == 0).nonzero();
      const int64_t len = zero.size(0) > 0 ? zero[0][0].item<int64_t>() : row.size(0);
      if (len == 0) continue;
      const int64_t keep = std::max<int64_t>(1, (len * 6 + 9) / 10);
      const int64_t span =
          keep + torch::randint(0, len - keep + 1, {1}, gen, torch::kLong).item<int64_t>();
      const int64_t start = torch::randint(0, len - span + 1, {1}, gen, torch::kLong).item<int64_t>();
      if (span > 0) out[i].narrow(0, 0, span).copy_(row.narrow(0, start, span));
    }
    return out;
  }

  // Keeps the recent distinct stimuli; every lora_every new ones, one contrastive step.
  void remember(const torch::Tensor& x, uint64_t seed) {
    if (!recent_.empty() && torch::equal(recent_.back(), x)) return;  // the same stimulus again
    recent_.push_back(x.detach().clone());
    if (static_cast<int64_t>(recent_.size()) > s_.lora_batch) recent_.pop_front();
    if (++fresh_ < s_.lora_every || static_cast<int64_t>(recent_.size()) < s_.lora_batch) return;
    fresh_ = 0;
    step(seed);
  }

  void step(uint64_t seed) {
    torch::AutoGradMode grad_on(true);  // ticks may run under a caller's NoGradGuard
    auto gen = at::detail::createCPUGenerator(seed);
    auto batch = torch::stack(std::vector<torch::Tensor>(recent_.begin(), recent_.end()));
    auto views = torch::cat({augment(batch, gen), augment(batch, gen)});  // (2B, size)
    lora_->apply();  // grad mode: the adapted weights carry A and B's graph
    auto z = F::normalize(embed(views, true), F::NormalizeFuncOptions().dim(1));
    auto loss = two_view_info_nce(z, s_.lora_tau);
    opt_->zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(lora_->parameters(), 1.0);
    opt_->step();
    torch::AutoGradMode grad_off(false);
    lora_->apply();
    ++steps_;
    if (steps_ % 500 == 0)
      log_info("{}: LoRA step {}: contrastive loss {:.4f}", name(), steps_, loss.item<double>());
  }

  PretrainedSenseSpec spec_;
  PretrainedSettings s_;
  std::unique_ptr<HfModel> model_;
  std::unique_ptr<nn::LoraAdapters> lora_;
  std::unique_ptr<torch::optim::AdamW> opt_;
  std::shared_ptr<const HfTokenizer> tokenizer_;
  ImageProcessorConfig image_;
  int64_t size_ = 0, side_ = 0, mels_ = 0, frames_ = 0;
  std::deque<torch::Tensor> recent_;
  int64_t fresh_ = 0;
  int64_t steps_ = 0;
};

}  // namespace

std::unique_ptr<brain::Region> make_pretrained_sense(const PretrainedSenseSpec& spec) {
  return std::make_unique<PretrainedSense>(spec);
}

}  // namespace elarin::regions
