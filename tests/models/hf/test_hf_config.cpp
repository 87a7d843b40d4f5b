// HF config reader (typed getters, both RoPE forms), the activation table, and strict loading:
// missing, unexpected and mis-shaped tensors are named, and a failed load changes nothing.
#include "elarin/models/hf/hf_config.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/models/hf/gpt2.hpp"
#include "elarin/models/hf/loader.hpp"

namespace {
namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/elarin-hf-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = path + "/" + name;
    std::ofstream(file) << text;
    return file;
  }
};

// The message of the elarin exception `fn` throws; fails the test if it throws none.
template <typename Exception, typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HfConfig, RopeThetaTopLevelForm) {
  TempDir tmp;
  tmp.write("config.json", R"({"model_type": "llama", "rope_theta": 500000.0})");
  EXPECT_DOUBLE_EQ(elarin::rope_theta(elarin::HfConfig::load(tmp.path)), 500000.0);
}

TEST(HfConfig, RopeThetaRopeParametersForm) {
  TempDir tmp;
  const std::string file = tmp.write(
      "cfg.json", R"({"rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}})");
  EXPECT_DOUBLE_EQ(elarin::rope_theta(elarin::HfConfig::load(file)), 1000000.0);
}

TEST(HfConfig, RopeThetaDefaultsTo10000) {
  EXPECT_DOUBLE_EQ(elarin::rope_theta(elarin::HfConfig::parse("{}", "mem")), 10000.0);
  EXPECT_DOUBLE_EQ(
      elarin::rope_theta(elarin::HfConfig::parse(R"({"rope_parameters": {"rope_type": "default"}})", "mem")),
      10000.0);
}

TEST(HfConfig, RopeScalingInBothFormsAndBothTypeKeys) {
  auto scaling = [](const std::string& json) {
    return elarin::rope_scaling(elarin::HfConfig::parse(json, "config.json"));
  };
  EXPECT_TRUE(scaling(R"({"rope_theta": 5e5})").is_default());
  EXPECT_TRUE(scaling(R"({"rope_scaling": null})").is_default());
  EXPECT_TRUE(scaling(R"({"rope_scaling": {}})").is_default());
  EXPECT_TRUE(scaling(R"({"rope_parameters": {"rope_type": "default", "rope_theta": 1e4}})")
                  .is_default());
  auto linear = scaling(R"({"rope_scaling": {"type": "linear", "factor": 4.0}})");  // old key
  EXPECT_EQ(linear.type, "linear");
  EXPECT_EQ(linear.factor, 4.0);
  const char* llama3 = R"("factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192)";
  const std::string old_form =
      R"({"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", )" +
      std::string(llama3) + "}}";
  const std::string new_form =
      R"({"rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, )" +
      std::string(llama3) + "}}";
  for (const std::string& json : {old_form, new_form}) {
    auto s = scaling(json);
    EXPECT_EQ(s.type, "llama3") << json;
    EXPECT_EQ(s.factor, 8.0);
    EXPECT_EQ(s.low_freq_factor, 1.0);
    EXPECT_EQ(s.high_freq_factor, 4.0);
    EXPECT_EQ(s.original_max_position_embeddings, 8192);
    EXPECT_EQ(elarin::rope_theta(elarin::HfConfig::parse(json, "config.json")), 500000.0);
  }
}

TEST(HfConfig, UnsupportedRopeScalingNamesKeyValueAndTheSupportedTypes) {
  auto msg = [](const std::string& json) {
    return error_of<elarin::FormatError>(
        [&] { elarin::rope_scaling(elarin::HfConfig::parse(json, "m/config.json")); });
  };
  for (const char* type : {"yarn", "dynamic", "longrope"}) {
    const std::string m =
        msg(R"({"rope_parameters": {"rope_type": ")" + std::string(type) + R"(", "factor": 4.0}})");
    EXPECT_TRUE(contains(m, "m/config.json: key 'rope_parameters.rope_type' is '" +
                                std::string(type) + "'")) << m;
    EXPECT_TRUE(contains(m, "supported are default, linear, llama3")) << m;
  }
  std::string m = msg(R"({"rope_scaling": {"type": "linear"}})");
  EXPECT_TRUE(contains(m, "missing key 'rope_scaling.factor'")) << m;
  m = msg(R"({"rope_scaling": {"type": "linear", "factor": -2}})");
  EXPECT_TRUE(contains(m, "rope_scaling.factor: got -2, expected > 0")) << m;
  m = msg(R"({"rope_parameters": {"full_attention": {"rope_type": "default"}}})");
  EXPECT_TRUE(contains(m, "'rope_parameters.full_attention': per-layer-type")) << m;
}

TEST(HfConfig, MissingKeyNamesKeyAndFile) {
  TempDir tmp;
  const std::string file = tmp.write("config.json", R"({"n_head": 4})");
  const auto cfg = elarin::HfConfig::load(file);
  const std::string msg = error_of<elarin::FormatError>([&] { cfg.get_int("n_embd"); });
  EXPECT_TRUE(contains(msg, "'n_embd'")) << msg;
  EXPECT_TRUE(contains(msg, file)) << msg;
  EXPECT_TRUE(contains(msg, "integer")) << msg;
}

TEST(HfConfig, MistypedKeyNamesKeyValueAndExpectedType) {
  const auto cfg = elarin::HfConfig::parse(
      R"({"n_embd": "64", "eps": true, "act": 3, "vision_config": {"hidden_size": 1.5}})", "cfg.json");
  std::string msg = error_of<elarin::FormatError>([&] { cfg.get_int("n_embd"); });
  EXPECT_TRUE(contains(msg, "'n_embd'") && contains(msg, "\"64\"") && contains(msg, "an integer")) << msg;
  msg = error_of<elarin::FormatError>([&] { cfg.get_double("eps", 1e-5); });
  EXPECT_TRUE(contains(msg, "'eps'") && contains(msg, "a number")) << msg;
  msg = error_of<elarin::FormatError>([&] { cfg.get_string("act", "gelu"); });
  EXPECT_TRUE(contains(msg, "'act'") && contains(msg, "a string")) << msg;
  msg = error_of<elarin::FormatError>([&] { cfg.sub("vision_config").get_int("hidden_size"); });
  EXPECT_TRUE(contains(msg, "'vision_config.hidden_size'") && contains(msg, "1.5")) << msg;
  msg = error_of<elarin::FormatError>([&] { cfg.sub("n_embd"); });
  EXPECT_TRUE(contains(msg, "'n_embd'") && contains(msg, "an object")) << msg;
}

TEST(HfConfig, NullIsAbsentAndIntegralFloatsAreIntegers) {
  const auto cfg = elarin::HfConfig::parse(R"({"n_inner": null, "n_head": 4.0, "flag": false})", "m");
  EXPECT_FALSE(cfg.has("n_inner"));
  EXPECT_EQ(cfg.get_int("n_inner", 7), 7);
  EXPECT_EQ(cfg.get_int("n_head"), 4);
  EXPECT_FALSE(cfg.get_bool("flag", true));
  EXPECT_THROW(elarin::HfConfig::parse("[1, 2]", "m"), elarin::FormatError);
  EXPECT_THROW(elarin::HfConfig::parse("{not json", "m"), elarin::FormatError);
}

TEST(HfActivation, UnknownNameListsValidOnes) {
  const std::string msg = error_of<elarin::UsageError>([] { elarin::activation("swishy"); });
  EXPECT_TRUE(contains(msg, "'swishy'")) << msg;
  EXPECT_TRUE(contains(msg, "gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, silu")) << msg;
  const auto cfg = elarin::HfConfig::parse(R"({"hidden_act": "swishy"})", "cfg.json");
  const std::string from_cfg = error_of<elarin::FormatError>(
      [&] { elarin::activation_from_config(cfg, "hidden_act", "gelu"); });
  EXPECT_TRUE(contains(from_cfg, "'hidden_act'") && contains(from_cfg, "quick_gelu")) << from_cfg;
}

TEST(HfActivation, FormulasMatchHuggingFaceDefinitions) {
  const torch::Tensor x = torch::linspace(-6, 6, 241, torch::kDouble);
  const double k = std::sqrt(2.0 / M_PI);
  const torch::Tensor tanh_ref = 0.5 * x * (1 + torch::tanh(k * (x + 0.044715 * x.pow(3))));
  const torch::Tensor erf_ref = 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0)));
  auto diff = [&](const char* name, const torch::Tensor& want) {
    return (elarin::activation(name)(x) - want).abs().max().item<double>();
  };
  EXPECT_LT(diff("gelu", erf_ref), 1e-12);
  EXPECT_LT(diff("gelu_new", tanh_ref), 1e-12);
  EXPECT_LT(diff("gelu_pytorch_tanh", tanh_ref), 1e-12);
  EXPECT_LT(diff("quick_gelu", x * torch::sigmoid(1.702 * x)), 1e-12);
  EXPECT_LT(diff("relu", x.clamp_min(0)), 1e-12);
  EXPECT_LT(diff("silu", x * torch::sigmoid(x)), 1e-12);
  EXPECT_GT((erf_ref - tanh_ref).abs().max().item<double>(), 1e-5);  // the table must not mix them up
}

// A tiny GPT-2 checkpoint directory whose weights come from a model built here.
struct TinyGpt2Dir : TempDir {
  elarin::GPT2Config cfg;
  std::map<std::string, torch::Tensor> tensors;  // file names -> tensors

  TinyGpt2Dir() {
    write("config.json", R"({"model_type": "gpt2", "vocab_size": 32, "n_positions": 16,
      "n_embd": 8, "n_layer": 2, "n_head": 2, "activation_function": "gelu_new"})");
    cfg = elarin::GPT2Config::from_hf(elarin::HfConfig::load(path));
    elarin::GPT2LMHeadModel model(cfg);
    for (const auto& item : model->named_parameters()) tensors[item.key()] = item.value().detach().clone();
  }
  void save(const std::map<std::string, torch::Tensor>& t) const {
    elarin::save_safetensors(path + "/model.safetensors", t, {{"format", "pt"}});
  }
};

TEST(HfLoad, MissingTensorIsNamed) {
  TinyGpt2Dir dir;
  auto t = dir.tensors;
  t.erase("transformer.h.1.ln_2.weight");
  dir.save(t);
  const std::string msg =
      error_of<elarin::FormatError>([&] { elarin::load_gpt2_lm_head_model(dir.path); });
  EXPECT_TRUE(contains(msg, "missing 1: transformer.h.1.ln_2.weight")) << msg;
}

TEST(HfLoad, UnexpectedAndMisshapedTensorsAreNamed) {
  TinyGpt2Dir dir;
  auto t = dir.tensors;
  t["transformer.h.2.ln_1.weight"] = torch::ones({8});
  t["transformer.wpe.weight"] = torch::zeros({17, 8});
  dir.save(t);
  const std::string msg =
      error_of<elarin::FormatError>([&] { elarin::load_gpt2_lm_head_model(dir.path); });
  EXPECT_TRUE(contains(msg, "unexpected 1: transformer.h.2.ln_1.weight")) << msg;
  EXPECT_TRUE(contains(msg, "transformer.wpe.weight has shape [17, 8], expected [16, 8]")) << msg;
}

TEST(HfLoad, HalfPrecisionConvertsAndOldMaskBuffersAreIgnored) {
  TinyGpt2Dir dir;
  std::map<std::string, torch::Tensor> t;
  for (const auto& [name, value] : dir.tensors) t[name] = value.to(torch::kHalf);
  t["transformer.h.0.attn.bias"] = torch::ones({1, 1, 16, 16});
  t["lm_head.weight"] = dir.tensors.at("transformer.wte.weight");  // tied copy
  dir.save(t);
  auto model = elarin::load_gpt2_lm_head_model(dir.path);
  for (const auto& item : model->named_parameters()) {
    EXPECT_EQ(item.value().scalar_type(), torch::kFloat) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), t.at(item.key()).to(torch::kFloat))) << item.key();
  }
}

TEST(HfLoad, FailedLoadLeavesTheModuleUnchanged) {
  TinyGpt2Dir dir;
  auto t = dir.tensors;
  t.erase("transformer.ln_f.bias");
  dir.save(t);
  elarin::GPT2LMHeadModel model(dir.cfg);
  for (auto& p : model->parameters()) p.data().fill_(0.5);
  const auto st = elarin::SafeTensors::open(dir.path + "/model.safetensors");
  EXPECT_THROW(elarin::load_state(*model, st), elarin::FormatError);
  for (const auto& p : model->parameters()) EXPECT_TRUE(torch::all(p == 0.5).item<bool>());
}

TEST(HfLoad, UnknownModelTypeListsValidOnes) {
  TempDir tmp;
  tmp.write("config.json", R"({"model_type": "bert"})");
  const std::string msg = error_of<elarin::UsageError>([&] { elarin::load_hf_model(tmp.path); });
  EXPECT_TRUE(contains(msg, "'bert'")) << msg;
  EXPECT_TRUE(contains(msg, "gpt2, clip_vision_model, clip, whisper")) << msg;
}

TEST(HfLoad, MissingWeightsFileIsNamed) {
  TempDir tmp;
  tmp.write("config.json", R"({"model_type": "gpt2", "n_layer": 1, "n_embd": 8, "n_head": 2})");
  const std::string msg = error_of<elarin::Error>([&] { elarin::load_hf_model(tmp.path); });
  EXPECT_TRUE(contains(msg, "model.safetensors")) << msg;
}

TEST(HfLoad, BadActivationInModelConfigNamesTheKey) {
  TempDir tmp;
  tmp.write("config.json", R"({"model_type": "gpt2", "activation_function": "gelu_fancy"})");
  const std::string msg = error_of<elarin::FormatError>(
      [&] { elarin::GPT2Config::from_hf(elarin::HfConfig::load(tmp.path)); });
  EXPECT_TRUE(contains(msg, "'activation_function'") && contains(msg, "gelu_new")) << msg;
}

}  // namespace
