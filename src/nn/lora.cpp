// Low-rank adapters (see the header).
#include "elarin/nn/lora.hpp"

#include <torch/torch.h>

#include <cmath>
#include <regex>

#include "elarin/core/errors.hpp"

namespace elarin::nn {
namespace {

std::string last_part(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

std::string key(const std::string& layer, const char* which) {
  return "base_model.model." + layer + ".lora_" + which + ".weight";
}

}  // namespace

LoraAdapters::LoraAdapters(torch::nn::Module& module, const LoraOptions& options, uint64_t seed)
    : options_(options) {
  if (options_.rank < 1)
    throw UsageError("lora: rank is " + std::to_string(options_.rank) + ", expected at least 1");
  std::vector<std::regex> targets;
  for (const auto& t : options_.targets) targets.emplace_back(t);
  for (auto& p : module.parameters()) p.set_requires_grad(false);
  for (const auto& item : module.named_modules()) {
    auto linear = std::dynamic_pointer_cast<torch::nn::LinearImpl>(item.value());
    if (!linear) continue;
    const std::string part = last_part(item.key());
    bool wanted = false;
    for (const auto& re : targets) wanted = wanted || std::regex_match(part, re);
    if (wanted) add(item.key(), linear, &linear->weight, false);
  }
  reset(seed);
}

void LoraAdapters::add(const std::string& name, std::shared_ptr<torch::nn::Module> owner,
                       torch::Tensor* weight, bool transposed) {
  TORCH_CHECK(weight && weight->dim() == 2, "lora: layer ", name, " has no 2-d weight");
  for (auto& p : owner->parameters()) p.set_requires_grad(false);
  Adapter a{name, std::move(owner), weight, *weight, {}, {}, transposed};
  const int64_t out = transposed ? weight->size(1) : weight->size(0);
  const int64_t in = transposed ? weight->size(0) : weight->size(1);
  a.a = torch::zeros({options_.rank, in}).set_requires_grad(true);
  a.b = torch::zeros({out, options_.rank}).set_requires_grad(true);
  adapters_.push_back(std::move(a));
}

void LoraAdapters::reset(uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  {
    torch::NoGradGuard no_grad;
    for (auto& a : adapters_) {
      const double bound = 1.0 / std::sqrt(double(a.a.size(1)));  // kaiming_uniform(a=sqrt(5))
      a.a.uniform_(-bound, bound, gen);
      a.b.zero_();
    }
  }
  torch::NoGradGuard no_grad;
  apply();
}

void LoraAdapters::apply() {
  const double scale = options_.alpha / double(options_.rank);
  for (auto& a : adapters_) {
    auto delta = a.b.mm(a.a) * scale;  // (out, in)
    *a.weight = a.base + (a.transposed ? delta.t() : delta);
  }
}

std::vector<torch::Tensor> LoraAdapters::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& a : adapters_) {
    out.push_back(a.a);
    out.push_back(a.b);
  }
  return out;
}

std::vector<std::string> LoraAdapters::layers() const {
  std::vector<std::string> out;
  for (const auto& a : adapters_) out.push_back(a.name);
  return out;
}

int64_t LoraAdapters::parameter_count() const {
  int64_t n = 0;
  for (const auto& a : adapters_) n += a.a.numel() + a.b.numel();
  return n;
}

std::map<std::string, torch::Tensor> LoraAdapters::state() const {
  std::map<std::string, torch::Tensor> st;
  for (const auto& a : adapters_) {
    st[key(a.name, "A")] = a.a.detach().clone();
    st[key(a.name, "B")] = a.b.detach().clone();
  }
  return st;
}

void LoraAdapters::load_state(const std::map<std::string, torch::Tensor>& state) {
  auto check = [&](const std::string& name, const torch::Tensor& like) {
    auto it = state.find(name);
    if (it == state.end()) throw FormatError("lora: no tensor '" + name + "'");
    const auto& t = it->second;
    if (t.scalar_type() != torch::kFloat || t.sizes() != like.sizes())
      throw FormatError("lora: tensor '" + name + "' is " +
                        std::string(c10::toString(t.scalar_type())) + " " + c10::str(t.sizes()) +
                        ", expected Float " + c10::str(like.sizes()) +
                        " (an adapter of another rank or base model?)");
  };
  for (const auto& a : adapters_) {
    check(key(a.name, "A"), a.a);
    check(key(a.name, "B"), a.b);
  }
  torch::NoGradGuard no_grad;
  for (auto& a : adapters_) {
    a.a.copy_(state.at(key(a.name, "A")));
    a.b.copy_(state.at(key(a.name, "B")));
  }
  apply();
}

}  // namespace elarin::nn
