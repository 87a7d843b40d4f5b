// Wernicke's area: reads text. The world's text port holds up to `length` bytes (UTF-8, 0 =
// padding). A small byte-level Elara LM (models/elara) is decapitated: its first `front`
// blocks' hidden states, mean-pooled over the text and centred, are the 128-d meaning the
// rest of the brain reads; the later blocks and the LM head serve only its development. It
// develops without labels: next-byte prediction on unlabeled text (Debian's fortunes), never
// on the names the brain is learning.
// With `pretrained: DIR` it reads with a pretrained causal LM's first `layers` blocks instead
// (regions/pretrained_sense.hpp). Leaves out subword tokenizers for its own LM (bytes need no
// vocabulary file).
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/progress.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "regions/kinds.hpp"
#include "regions/module_state.hpp"
#include "regions/pretrained_sense.hpp"

namespace elarin::regions {
namespace {

struct WernickeSettings {
  int64_t length = 32;
  int64_t width = 128;
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t front = 2;
  int64_t steps = 800;
  int64_t batch = 32;
  double lr = 2e-3;
  PretrainedSettings pre;  // region.wernicke.pretrained, .unit, .lora_*
  template <class V>
  void visit(V& v) {
    v("length", length, "text port size: bytes of UTF-8, 0 = padding", at_least(2));
    v("width", width, "LM width, the size of the meaning passed on (divisible by heads)",
      at_least(2));
    v("layers", layers,
      "LM blocks (the whole LM trains; the front ones are read); with `pretrained`: the "
      "pretrained LM's first blocks whose pooled output is read",
      at_least(1));
    v("heads", heads, "attention heads", at_least(1));
    v("front", front,
      "blocks whose output is read (the decapitated LM's front half; at most "
      "layers)",
      at_least(1));
    v("steps", steps, "next-byte prediction steps of the development", at_least(0));
    v("batch", batch, "text windows per development step", at_least(1));
    v("lr", lr, "AdamW learning rate of the development", greater_than(0));
    pre.visit(v);
  }
};

models::ElaraConfig lm_config(const WernickeSettings& s) {
  models::ElaraConfig c;
  c.block_size = s.length;
  c.vocab_size = 256;
  c.n_layer = s.layers;
  c.n_head = s.heads;
  c.n_embd = s.width;
  return c;
}

class Wernicke : public brain::Region {
 public:
  Wernicke(const WernickeSettings& s, const brain::BrainFacts&)
      : Region("wernicke"), s_(check(s)), lm_(lm_config(s)) {
    mean_ = torch::zeros({s_.width});
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"text", s_.length}}; }
  std::vector<brain::PortSpec> outputs() const override { return {{"meaning", s_.width}}; }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    torch::NoGradGuard no_grad;
    auto ids = bytes_of(in.at("text"));
    if (ids.numel() == 0) return {{"meaning", torch::zeros({s_.width})}};
    auto m = pooled(ids.unsqueeze(0))[0] - mean_;
    return {{"meaning", m / m.norm().clamp_min(1e-12)}};
  }

  bool develops() const override { return true; }
  // samples: (N, length) byte windows of unlabeled text.
  void develop(const torch::Tensor& samples, uint64_t seed) override {
    TORCH_CHECK(samples.dim() == 2 && samples.size(1) == s_.length,
                "wernicke.develop: expected (N, ", s_.length, ")");
    const int64_t n = samples.size(0);
    if (n < 1) return;
    auto ids = samples.round().clamp(0, 255).to(torch::kLong);  // (N, L)
    auto gen = at::detail::createCPUGenerator(seed);
    torch::optim::AdamW opt(lm_->parameters(),
                            torch::optim::AdamWOptions(s_.lr).weight_decay(0.01));
    lm_->train();
    ProgressBar bar(s_.steps, "wernicke: next-byte development", "step");
    double recent = 0;
    for (int64_t step = 0; step < s_.steps; ++step) {
      auto rows = ids.index_select(0, torch::randint(0, n, {s_.batch}, gen, torch::kLong));
      auto out = lm_->forward(rows.narrow(1, 0, s_.length - 1));  // (B, L-1, 256)
      auto target = rows.narrow(1, 1, s_.length - 1);             // padding is not predicted
      auto loss = torch::nn::functional::cross_entropy(
          out.logits.reshape({-1, 256}), target.reshape({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(0));
      opt.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(lm_->parameters(), 1.0);
      opt.step();
      recent = step == 0 ? loss.item<double>() : 0.98 * recent + 0.02 * loss.item<double>();
      bar.update();
    }
    bar.finish();
    lm_->eval();
    // Centre the meanings: their common part says "this is text", not which text.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> pooled_rows;
    for (int64_t i = 0; i < n; i += 256) {
      auto chunk = ids.narrow(0, i, std::min<int64_t>(256, n - i));
      pooled_rows.push_back(pooled(chunk));
    }
    mean_ = torch::cat(pooled_rows).mean(0);
    log_info("wernicke: {} next-byte steps on {} text windows: loss {:.3f} nats/byte", s_.steps, n,
             recent);
  }

  brain::RegionState state() const override {
    brain::RegionState st;
    add_module_state(st, "lm", *lm_);
    st["mean"] = mean_.clone();
    return st;
  }
  void load_state(const brain::RegionState& st) override {
    check_module_state(st, "lm", *lm_);  // validate everything, then copy
    const auto& m = brain::state_tensor(st, "mean", {s_.width}, torch::kFloat);
    copy_module_state(st, "lm", *lm_);
    mean_ = m.clone();
  }
  void initialise(uint64_t seed) override {
    torch::manual_seed(seed);
    lm_ = models::ElaraModel(lm_config(s_));
    mean_ = torch::zeros({s_.width});
  }

 private:
  static const WernickeSettings& check(const WernickeSettings& s) {
    check_constraints(s, "region.wernicke");
    if (s.width % s.heads)
      throw UsageError("region.wernicke.width: got " + std::to_string(s.width) +
                       ", expected a multiple of region.wernicke.heads (" +
                       std::to_string(s.heads) + ")");
    if (s.front > s.layers)
      throw UsageError("region.wernicke.front: got " + std::to_string(s.front) +
                       ", expected <= " + std::to_string(s.layers) + " (region.wernicke.layers)");
    return s;
  }
  // The text port's bytes up to the first padding 0: (T) int64.
  torch::Tensor bytes_of(const torch::Tensor& text) const {
    auto ids = text.round().clamp(0, 255).to(torch::kLong);
    auto zero = (ids == 0).nonzero();
    const int64_t len = zero.size(0) > 0 ? zero[0][0].item<int64_t>() : ids.size(0);
    return ids.narrow(0, 0, len);
  }
  // (B, T) ids -> (B, C): the front blocks' states, mean-pooled over the non-padding bytes.
  torch::Tensor pooled(const torch::Tensor& ids) {
    auto out = lm_->forward(ids, nullptr, /*keep_hidden_states=*/true);
    auto h = out.hidden_states[static_cast<size_t>(s_.front)];  // (B, T, C)
    auto mask = (ids != 0).to(torch::kFloat).unsqueeze(2);      // (B, T, 1)
    return (h * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  }
  WernickeSettings s_;
  models::ElaraModel lm_;
  torch::Tensor mean_;  // (C) the mean meaning of the development text
};

}  // namespace

brain::RegionKind wernicke_kind() {
  auto kind = brain::make_region_kind<Wernicke, WernickeSettings>(
      "wernicke", "language: byte-level LM's front half, text -> centred 128-d meaning");
  // With `pretrained` set, the region encodes with that Hugging Face model (+ LoRA adapters).
  kind.make = [](const brain::RegionSettings& rs,
                 const brain::BrainFacts& facts) -> std::unique_ptr<brain::Region> {
    const auto& s = static_cast<const brain::SettingsOf<WernickeSettings>&>(rs).value;
    if (s.pre.pretrained.empty()) return std::make_unique<Wernicke>(s, facts);
    check_constraints(s, "region.wernicke");
    return make_pretrained_sense({"wernicke", {"text", s.length}, "meaning", "input_ids",
                                  s.layers, s.pre});
  };
  return kind;
}

}  // namespace elarin::regions
