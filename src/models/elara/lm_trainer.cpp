// `elarin train lm` (see the header).
#include "elarin/models/elara/lm_trainer.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/crc32c.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/checkpoint.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/metrics_log.hpp"
#include "elarin/core/runtime.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/data/char_tokenizer.hpp"
#include "elarin/data/sentencepiece.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "elarin/nn/data_parallel.hpp"
#include "elarin/nn/fused_adamw.hpp"

namespace elarin::models {
namespace {

using Clock = std::chrono::steady_clock;

std::string read_text(const std::string& path) {
  try {
    return read_file(path);
  } catch (const Error& e) {
    throw Error("train lm: the text file: " + std::string(e.what()));
  }
}

// The text as ids, and what the checkpoint records of the tokenizer: characters (the
// vocabulary as JSON), or a SentencePiece model (its path and CRC-32C). SentencePiece works
// on lines, as spm_encode does: each line's ids, then </s> where its '\n' was.
struct LmTokens {
  std::vector<int64_t> ids;
  int64_t vocab_size = 0;
  std::map<std::string, std::string> meta;  // elarin.tokenizer and what identifies it
  std::string get(const std::string& key) const {
    auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  }
};

LmTokens tokenize_text(const std::string& text, const std::string& tokenizer_path) {
  LmTokens r;
  if (tokenizer_path.empty()) {
    const auto tok = CharTokenizer::fit(text);
    r.ids = tok.encode(text);
    r.vocab_size = tok.vocab_size();
    r.meta = {{"elarin.tokenizer", "char"}, {"elarin.vocab", tok.to_json()}};
    return r;
  }
  const std::string bytes = read_file(tokenizer_path);
  const auto tok = SentencePieceTokenizer::from_bytes(bytes, tokenizer_path);
  if (tok.eos_id() < 0)
    throw UsageError("train lm --tokenizer: '" + tokenizer_path +
                     "' has no </s> piece to end each line with");
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const auto line = tok.encode(std::string_view(text).substr(begin, end - begin));
    r.ids.insert(r.ids.end(), line.begin(), line.end());
    r.ids.push_back(tok.eos_id());
    begin = end + 1;
  }
  r.vocab_size = tok.vocab_size();
  r.meta = {{"elarin.tokenizer", "sentencepiece"},
            {"elarin.tokenizer_model", std::filesystem::absolute(tokenizer_path).string()},
            {"elarin.tokenizer_crc32c", crc32c_hex(bytes)}};
  return r;
}

// Random windows: x = data[i : i + T], y = data[i + 1 : i + 1 + T] for B offsets i.
std::pair<torch::Tensor, torch::Tensor> get_batch(const torch::Tensor& data, int64_t B, int64_t T) {
  auto ix = torch::randint(data.size(0) - T, {B}, torch::kInt64);
  auto offs = ix.unsqueeze(1) + torch::arange(T + 1, torch::kInt64).unsqueeze(0);  // (B, T+1)
  auto w = data.index_select(0, offs.flatten()).view({B, T + 1});
  return {w.narrow(1, 0, T).contiguous(), w.narrow(1, 1, T).contiguous()};
}

int64_t shard_limit(const LmTrainConfig& t) {
  return t.shards > 0 ? t.shards : static_cast<int64_t>(at::get_num_threads());
}

// Mean cross-entropy over eval_iters random batches; the batches are drawn first (so the
// random stream does not depend on threads) and evaluated one per thread.
double estimate_loss(ElaraModel& model, const torch::Tensor& data, const LmTrainConfig& t,
                     int64_t T) {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> batches;
  for (int64_t k = 0; k < t.eval_iters; ++k) batches.push_back(get_batch(data, t.batch_size, T));
  std::vector<double> losses(batches.size());
  nn::run_shards(nn::split_rows(t.eval_iters, shard_limit(t)), [&](const nn::Shard& s) {
    torch::NoGradGuard guard;  // grad mode is per thread
    for (int64_t k = s.begin; k < s.begin + s.size; ++k) {
      const auto& [x, y] = batches[static_cast<size_t>(k)];
      auto logits = model->forward(x).logits;
      losses[static_cast<size_t>(k)] =
          torch::nn::functional::cross_entropy(logits.view({-1, logits.size(2)}), y.view(-1))
              .item<double>();
    }
  });
  double sum = 0;
  for (double l : losses) sum += l;
  return sum / static_cast<double>(t.eval_iters);
}

}  // namespace

void LmTrainConfig::validate() const {
  check_constraints(*this, "lm.train");
  auto s = [](auto v) { return std::to_string(v); };
  if (min_lr > lr)
    throw UsageError("lm.train.min_lr: got " + s(min_lr) + ", expected <= " + s(lr) +
                     " (lm.train.lr)");
  if (lr_decay_iters <= warmup_iters)
    throw UsageError("lm.train.lr_decay_iters: got " + s(lr_decay_iters) + ", expected > " +
                     s(warmup_iters) + " (lm.train.warmup_iters)");
}

MaskBlocks lm_draft_blocks(int64_t T, int64_t draft_len, int64_t first) {
  MaskBlocks b;
  b.len = draft_len;
  b.ahead = 1;  // as decoding uses them: the token after the prefix is the AR head's
  for (int64_t p = first; p + b.ahead + b.len <= T; p += b.ahead + b.len)  // positions < T
    b.prefix.push_back(p);
  return b;
}

LmStepLosses lm_accumulate_step(ElaraModel& model, const std::vector<torch::Tensor>& params,
                                const std::vector<nn::Shard>& shards, const torch::Tensor& x,
                                const torch::Tensor& y, const MaskBlocks* blocks,
                                double aux_weight, double diffusion_weight, double scale,
                                double ar_share) {
  // One shard of the batch per thread; the shard losses are weighted by their share of the
  // rows, so their sum is the batch mean (the MoE balance loss is per shard).
  const auto B = static_cast<double>(x.size(0));
  const bool masks = blocks && blocks->count() > 0;
  // (n_mask) mask i of block b predicts token q = prefix[b] + ahead + i, which is y[q - 1]
  torch::Tensor target_index;
  if (masks) {
    std::vector<int64_t> idx;
    for (int64_t p : blocks->prefix)
      for (int64_t i = 0; i < blocks->len; ++i) idx.push_back(p + blocks->ahead + i - 1);
    target_index = torch::tensor(idx, torch::kLong);
  }
  std::vector<std::vector<torch::Tensor>> grads(shards.size());
  std::vector<double> losses(shards.size()), draft_losses(shards.size());
  nn::run_shards(shards, [&](const nn::Shard& sh) {
    auto ys = y.narrow(0, sh.begin, sh.size);
    auto out = model->forward(x.narrow(0, sh.begin, sh.size), nullptr, false,
                              masks ? blocks : nullptr);
    auto loss = torch::nn::functional::cross_entropy(
        out.logits.reshape({-1, out.logits.size(2)}), ys.reshape(-1));
    const double w = static_cast<double>(sh.size) / B;
    losses[static_cast<size_t>(sh.index)] = loss.item<double>() * w;
    auto objective = loss + aux_weight * out.aux_loss;
    if (masks) {
      // Targets: the text's tokens, and/or (ar_share > 0) what the AR head predicts there
      // from the text before it, which is what greedy verification will check.
      auto draft = out.draft_logits.reshape({-1, out.draft_logits.size(2)});
      auto ce = [&](const torch::Tensor& target) {
        return torch::nn::functional::cross_entropy(draft, target.reshape(-1));
      };
      torch::Tensor dloss;
      if (ar_share < 1) dloss = (1 - ar_share) * ce(ys.index_select(1, target_index));
      if (ar_share > 0) {
        auto ar = ar_share * ce(out.logits.detach().index_select(1, target_index).argmax(-1));
        dloss = dloss.defined() ? dloss + ar : ar;
      }
      draft_losses[static_cast<size_t>(sh.index)] = dloss.item<double>() * w;
      objective = objective + diffusion_weight * dloss;
    }
    grads[static_cast<size_t>(sh.index)] = torch::autograd::grad(
        {objective * (w * scale)}, params, {}, false, false, /*allow_unused=*/true);
  });
  nn::accumulate_grads(params, grads);
  LmStepLosses r;
  for (double l : losses) r.loss += l;
  for (double l : draft_losses) r.draft_loss += l;
  return r;
}

double lm_learning_rate(const LmTrainConfig& t, int64_t it) {
  if (it < t.warmup_iters)
    return t.lr * static_cast<double>(it + 1) / static_cast<double>(t.warmup_iters + 1);
  if (it > t.lr_decay_iters) return t.min_lr;
  const double ratio = static_cast<double>(it - t.warmup_iters) /
                       static_cast<double>(t.lr_decay_iters - t.warmup_iters);
  return t.min_lr + 0.5 * (1.0 + std::cos(M_PI * ratio)) * (t.lr - t.min_lr);
}

nlohmann::json train_lm(LmSettings s, const Config& config, const std::string& text_path,
                        const std::string& run_dir, bool tensorboard, bool resume,
                        const std::string& tokenizer_path) {
  const auto t_start = Clock::now();
  const std::string text = read_text(text_path);
  auto data = tokenize_text(text, tokenizer_path);
  s.model.vocab_size = data.vocab_size;
  s.validate();
  const auto& t = s.train;
  const int64_t T = s.model.block_size;
  auto& ids = data.ids;
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t n_train = static_cast<int64_t>(static_cast<double>(n) * (1.0 - t.val_fraction));
  auto all = torch::from_blob(ids.data(), {n}, torch::kInt64).clone();
  auto train_data = all.narrow(0, 0, n_train), val_data = all.narrow(0, n_train, n - n_train);
  if (val_data.size(0) <= T || train_data.size(0) <= T)
    throw UsageError("train lm: '" + text_path + "' has " + std::to_string(n) +
                     " tokens: too short for block_size " + std::to_string(T) + " with a " +
                     std::to_string(t.val_fraction) + " validation share");
  log_info("train lm: {} tokens ({}), vocab {}, train {} / val {} tokens", n,
           data.get("elarin.tokenizer"), data.vocab_size, train_data.size(0), val_data.size(0));

  ElaraModel model(s.model);
  const int64_t params = model->parameter_count(), active = model->active_parameter_count();
  log_info("model: {} parameters ({} active per token), {} x {} effective layers", params, active,
           s.model.n_layer, s.model.recursion_depth);
  // AdamW groups as in nanoGPT, but also sparing the embeddings (issue #4): decay on matrices.
  std::vector<torch::Tensor> decay, no_decay;
  std::vector<std::string> decay_names, no_decay_names;
  for (const auto& p : model->named_parameters(true)) {
    const bool d = p.value().dim() >= 2 && p.key().rfind("embed_tokens", 0) != 0;
    (d ? decay : no_decay).push_back(p.value());
    (d ? decay_names : no_decay_names).push_back(p.key());
  }
  nn::AdamWOptions opt_d;
  opt_d.lr = t.lr;
  opt_d.beta1 = t.beta1;
  opt_d.beta2 = t.beta2;
  opt_d.weight_decay = t.weight_decay;
  auto opt_n = opt_d;
  opt_n.weight_decay = 0.0;
  nn::FusedAdamW adam_d(decay, opt_d), adam_n(no_decay, opt_n);
  const std::pair<nn::FusedAdamW*, const std::vector<std::string>*> optimizers[] = {
      {&adam_d, &decay_names}, {&adam_n, &no_decay_names}};

  std::filesystem::create_directories(run_dir);
  const auto model_path = (std::filesystem::path(run_dir) / "model.safetensors").string();
  const auto state_path = (std::filesystem::path(run_dir) / "trainer.safetensors").string();
  double train_loss = NAN, val_loss = NAN, train_seconds = 0, last_loss = NAN,
         last_draft_loss = NAN;
  int64_t tokens = 0, start = 0;
  // The weights (model.safetensors, what sample/encode read) and the rest of the training
  // state (trainer.safetensors: AdamW moments and steps, the CPU random state, counters),
  // written at each evaluation, trainer state first; both carry the iteration, and a resume
  // refuses a pair that disagrees (a crash between the two writes).
  auto save = [&](int64_t iter) {
    const std::map<std::string, std::string> meta = {{"elarin.iter", std::to_string(iter)}};
    std::map<std::string, torch::Tensor> state;
    for (const auto& [opt, names] : optimizers)
      for (size_t i = 0; i < names->size(); ++i) {
        const auto& n = (*names)[i];
        state["optim.exp_avg." + n] = opt->exp_avg(i);
        state["optim.exp_avg_sq." + n] = opt->exp_avg_sq(i);
        state["optim.step." + n] = torch::tensor(opt->step_count(i), torch::kInt64);
      }
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      state["rng.cpu"] = gen.get_state();
    }
    auto state_meta = meta;
    state_meta["elarin.train_loss"] = std::to_string(train_loss);
    state_meta["elarin.val_loss"] = std::to_string(val_loss);
    state_meta["elarin.train_seconds"] = std::to_string(train_seconds);
    state_meta["elarin.tokens"] = std::to_string(tokens);
    save_checkpoint(state_path, state, config, state_meta);
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : model->named_parameters(true)) tensors[p.key()] = p.value().detach();
    for (const auto& b : model->named_buffers(true)) tensors[b.key()] = b.value().detach();
    auto model_meta = meta;
    model_meta.insert(data.meta.begin(), data.meta.end());
    model_meta["elarin.vocab_size"] = std::to_string(data.vocab_size);
    save_checkpoint(model_path, tensors, config, model_meta);
  };
  if (resume) {
    for (const auto& f : {model_path, state_path})
      if (!std::filesystem::exists(f))
        throw UsageError("train lm --resume: no checkpoint '" + f +
                         "' (a run writes model.safetensors and trainer.safetensors at each "
                         "evaluation)");
    auto mk = load_checkpoint(model_path), st = load_checkpoint(state_path);
    const auto iter = mk.metadata["elarin.iter"];
    if (iter.empty() || iter != st.metadata["elarin.iter"])
      throw Error("train lm --resume: '" + model_path + "' is at iteration '" + iter + "' but '" +
                  state_path + "' at '" + st.metadata["elarin.iter"] +
                  "': the run stopped between the two writes; start it again without --resume");
    if (mk.metadata["elarin.tokenizer"] != data.get("elarin.tokenizer"))
      throw UsageError("train lm --resume: the checkpoint was trained on '" +
                       mk.metadata["elarin.tokenizer"] + "' tokens, this run uses '" +
                       data.get("elarin.tokenizer") + "': resume with the same --tokenizer");
    if (mk.metadata["elarin.vocab"] != data.get("elarin.vocab"))
      throw UsageError("train lm --resume: the characters of '" + text_path +
                       "' differ from the checkpoint's vocabulary: resume with the same text");
    if (mk.metadata["elarin.tokenizer_crc32c"] != data.get("elarin.tokenizer_crc32c"))
      throw UsageError("train lm --resume: '" + tokenizer_path +
                       "' is not the SentencePiece model the checkpoint was trained with (" +
                       mk.metadata["elarin.tokenizer_model"] + ")");
    auto take = [&](Checkpoint& ck, const std::string& name, const torch::Tensor& like) {
      auto it = ck.tensors.find(name);
      if (it == ck.tensors.end())
        throw Error("train lm --resume: the checkpoint has no tensor '" + name +
                    "' (was it written with another lm.model config?)");
      if (it->second.sizes() != like.sizes())
        throw Error("train lm --resume: tensor '" + name + "' has shape " +
                    c10::str(it->second.sizes()) + " in the checkpoint, the model has " +
                    c10::str(like.sizes()) + " (another lm.model config?)");
      return it->second;
    };
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->named_parameters(true)) p.value().copy_(take(mk, p.key(), p.value()));
      for (auto& b : model->named_buffers(true)) b.value().copy_(take(mk, b.key(), b.value()));
    }
    for (const auto& [opt, names] : optimizers)
      for (size_t i = 0; i < names->size(); ++i) {
        const auto& n = (*names)[i];
        const auto& p = opt->params()[i];
        opt->set_state(i, take(st, "optim.step." + n, torch::zeros({}, torch::kInt64)).item<int64_t>(),
                       take(st, "optim.exp_avg." + n, p), take(st, "optim.exp_avg_sq." + n, p));
      }
    {
      auto rng = st.tensors.find("rng.cpu");
      if (rng == st.tensors.end()) throw Error("train lm --resume: no random state in '" + state_path + "'");
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng->second);
    }
    start = std::stoll(iter);
    train_loss = std::stod(st.metadata["elarin.train_loss"]);
    val_loss = std::stod(st.metadata["elarin.val_loss"]);
    train_seconds = std::stod(st.metadata["elarin.train_seconds"]);
    tokens = std::stoll(st.metadata["elarin.tokens"]);
    log_info("resumed '{}' at iteration {} (val loss {:.4f})", run_dir, start, val_loss);
  }
  MetricsLog metrics((std::filesystem::path(run_dir) / "metrics.jsonl").string(),
                     tensorboard ? run_dir : std::string());
  // nanoGPT's MFU: 6N + 12 L H Q T flops per token against an A100's bf16 peak, so the figure
  // reads like nanoGPT's own log line (on a CPU it is a tiny number).
  const double L = static_cast<double>(s.model.n_layer * s.model.recursion_depth);
  const double flops_per_iter =
      (6.0 * static_cast<double>(active) + 12.0 * L * static_cast<double>(s.model.n_head) *
                                               static_cast<double>(s.model.head_dim()) *
                                               static_cast<double>(T)) *
      static_cast<double>(T * t.batch_size * t.grad_accum);

  const auto trainable = model->parameters();
  const bool diffusion = s.model.use_diffusion_head;
  const auto shards = nn::split_rows(t.batch_size, shard_limit(t));
  log_info("data parallel: {} shard(s) of the batch over {} thread(s)", shards.size(),
           at::get_num_threads());

  auto t_log = Clock::now();
  for (int64_t it = start; it <= t.max_iters; ++it) {
    const double lr = lm_learning_rate(t, it);
    adam_d.set_lr(lr);
    adam_n.set_lr(lr);
    // (a resumed run evaluated and saved at `start` already, before it stopped)
    if ((it % t.eval_interval == 0 || it == t.max_iters) && !(resume && it == start)) {
      model->eval();
      train_loss = estimate_loss(model, train_data, t, T);
      val_loss = estimate_loss(model, val_data, t, T);
      model->train();
      log_info("step {}: train loss {:.4f}, val loss {:.4f}", it, train_loss, val_loss);
      metrics.log(it, {{"train/loss", train_loss}, {"val/loss", val_loss}, {"lr", lr}});
      save(it);
      t_log = Clock::now();
    }
    if (it == t.max_iters) break;  // nanoGPT evaluates at max_iters and stops
    const auto t_step = Clock::now();
    double loss_sum = 0, draft_sum = 0;
    for (int64_t micro = 0; micro < t.grad_accum; ++micro) {
      auto [x, y] = get_batch(train_data, t.batch_size, T);
      // With a diffusion head, mask blocks after every draft_len + 1 tokens (from a random
      // first prefix, drawn here on the main thread) learn the tokens that follow them while
      // every token trains the AR head (TiDAR's structured attention).
      MaskBlocks blocks;
      if (diffusion)
        blocks = lm_draft_blocks(
            T, s.model.draft_len,
            1 + torch::randint(s.model.draft_len + 1, {1}).item<int64_t>());
      const auto r = lm_accumulate_step(model, trainable, shards, x, y,
                                        diffusion ? &blocks : nullptr, t.aux_weight,
                                        t.diffusion_weight, 1.0 / static_cast<double>(t.grad_accum),
                                        t.draft_target == "ar"    ? 1.0
                                        : t.draft_target == "mix" ? 0.5
                                                                  : 0.0);
      loss_sum += r.loss;
      draft_sum += r.draft_loss;
      tokens += (T + blocks.count()) * t.batch_size;  // positions the step ran
    }
    if (t.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), t.grad_clip);
    adam_d.step();
    adam_n.step();
    adam_d.zero_grad();
    adam_n.zero_grad();
    const double dt = seconds_since(t_step);
    train_seconds += dt;
    last_loss = loss_sum / static_cast<double>(t.grad_accum);
    last_draft_loss = draft_sum / static_cast<double>(t.grad_accum);
    if (it % t.log_interval == 0) {
      const double mfu = flops_per_iter / dt / 312e12;
      log_info("iter {}: loss {:.4f}, time {:.2f}ms, mfu {:.2f}%", it, last_loss, dt * 1000.0,
               mfu * 100.0);
      MetricsLog::Values m = {
          {"train/batch_loss", last_loss}, {"lr", lr}, {"step_ms", dt * 1000.0}};
      if (diffusion) m.emplace_back("train/draft_loss", last_draft_loss);
      metrics.log(it, m);
    }
  }
  return {{"train_loss", train_loss},
          {"val_loss", val_loss},
          {"last_batch_loss", last_loss},
          {"last_draft_loss", diffusion ? last_draft_loss : 0.0},
          {"tokens_per_s", train_seconds > 0 ? static_cast<double>(tokens) / train_seconds : 0.0},
          {"train_seconds", train_seconds},
          {"seconds", seconds_since(t_start)},
          {"peak_rss_mib", peak_rss_mib()},
          {"iters", t.max_iters},
          {"tokens", tokens},
          {"params", params},
          {"params_active", active},
          {"vocab_size", data.vocab_size},
          {"tokenizer", data.get("elarin.tokenizer")},
          {"run_dir", run_dir}};
}

}  // namespace elarin::models
