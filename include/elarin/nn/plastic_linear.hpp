// A linear map that learns without gradients, from local activity and a neuromodulator.
// A connection is live (a weight) or dormant: a dormant one holds the sentinel kSentinel
// (-1e9), contributes nothing to the output, and becomes a small positive weight when a
// learning rule reinforces it (synaptogenesis). Each connection keeps an eligibility trace
// (decaying pre x post), which three-factor rules turn into a change when dopamine arrives.
// Leaves out gradients: the weight is a buffer, not a parameter. Rules: brain/learning_rules.
//
//   elarin::nn::PlasticLinear bg(elarin::nn::PlasticLinearOptions(512, 10));  // all dormant
//   torch::Tensor x = torch::randn({1, 512});
//   auto q = bg(x);  // (B, 512) -> (B, 10); dormant connections read as 0
//   torch::Tensor onehot = torch::zeros({10});
//   onehot[3] = 1;                   // the channel that acted
//   bg->update_trace(x[0], onehot);  // e <- decay * e + post (x) pre
//   double dopamine = 0.5;
//   bg->apply_delta(0.05 * dopamine * bg->eligibility);  // wakes the reinforced connections
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace elarin::nn {

// The value a dormant connection holds. Any weight <= kSentinel / 2 counts as dormant.
inline constexpr float kSentinel = -1e9f;

struct PlasticLinearOptions {
  PlasticLinearOptions(int64_t in, int64_t out) : in_features(in), out_features(out) {}
  int64_t in_features;
  int64_t out_features;
  std::string init = "sentinel";  // sentinel: every connection dormant; kaiming: all live
  double trace_decay = 0.0;       // eligibility e <- decay * e + post (x) pre; 0 = this tick only
  double wake_threshold = 0.0;    // a dormant connection wakes when its change exceeds this
  double weight_limit = 10.0;     // live weights are clipped to [-limit, limit]
};

class PlasticLinearImpl : public torch::nn::Module {
 public:
  explicit PlasticLinearImpl(const PlasticLinearOptions& options);
  PlasticLinearImpl(int64_t in, int64_t out) : PlasticLinearImpl(PlasticLinearOptions(in, out)) {}

  // (B, in) or (in) -> (B, out) or (out). Dormant connections contribute 0.
  torch::Tensor forward(const torch::Tensor& x);

  // The weights with dormant connections read as 0: (out, in).
  torch::Tensor live_weight() const;
  // True where a connection is dormant: (out, in) bool.
  torch::Tensor dormant() const;
  int64_t live_count() const;

  // e <- trace_decay * e + post (x) pre, summed over the batch: pre (B, in) | (in),
  // post (B, out) | (out).
  void update_trace(const torch::Tensor& pre, const torch::Tensor& post);
  void clear_trace();

  // Applies a change (out, in): live connections add it (then clip); a dormant connection
  // whose change exceeds wake_threshold wakes with that change as its weight; the rest stay
  // dormant. Returns how many connections woke.
  int64_t apply_delta(const torch::Tensor& delta);

  // Re-initialises: all dormant ("sentinel") or Kaiming-uniform live weights ("kaiming").
  void reset(const std::string& init);

  const PlasticLinearOptions& options() const { return options_; }

  torch::Tensor weight;       // (out, in) live weights and kSentinel for dormant ones
  torch::Tensor eligibility;  // (out, in)

 private:
  PlasticLinearOptions options_;
};
TORCH_MODULE(PlasticLinear);

}  // namespace elarin::nn
