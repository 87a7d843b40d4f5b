// The serving engine's scheduler: slots, the bounded queue, continuous batching (see the header).
#include "elarin/serve/engine.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>

#include "core/utf8.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/data/token_stream.hpp"
#include "elarin/models/elara/decoder.hpp"
#include "elarin/serve/metrics.hpp"

namespace elarin::serve {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The length of the longest suffix of `text` that is a proper prefix of one of `stops`: text
// that may still become a stop string, held back from the client.
size_t held_suffix(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const auto& s : stops)
    for (size_t n = std::min(text.size(), s.size() - 1); n > best; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        best = n;
        break;
      }
  return best;
}

}  // namespace

// ---- Job --------------------------------------------------------------------------------------

bool Job::next(Delta* delta, Finish* fin, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  streaming_ = true;
  cv_.wait_for(lock, timeout,
               [&] { return done_ || !pending_.text.empty() || !pending_.tokens.empty(); });
  delta->text += pending_.text;
  delta->tokens.insert(delta->tokens.end(), std::make_move_iterator(pending_.tokens.begin()),
                       std::make_move_iterator(pending_.tokens.end()));
  pending_ = Delta{};
  if (done_ && fin) *fin = fin_;
  return done_;
}

Finish Job::wait() {
  // Woken once, at the end: a waiter woken for every token would take a core from the
  // decoding threads on a small machine.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return done_; });
  all_text_ = std::move(pending_.text);
  all_tokens_ = std::move(pending_.tokens);
  pending_ = Delta{};
  return fin_;
}

void Job::cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
}

// ---- the scheduler ----------------------------------------------------------------------------

struct Engine::Impl {
  models::ElaraDecoder decoder;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::vector<int64_t> stop_ids;
  std::function<bool(int64_t)> is_special;
  Metrics* metrics = nullptr;
  EngineOptions o;
  int64_t ctx = 0;

  struct Slot {
    models::DecoderCache cache;
    std::vector<int64_t> cached;  // the ids the cache holds
    std::shared_ptr<Job> job;
    size_t fed = 0;               // prompt ids in the cache
    int64_t last = -1;            // the last generated id, fed next step
    int64_t generated = 0;
    std::optional<Sampler> sampler;
    std::optional<TokenStream> stream;
    std::string held;             // text not released yet (may start a stop string)
    Clock::time_point started, first, last_token;
  };
  std::vector<Slot> slots;

  mutable std::mutex mu;  // guards waiting, stopping, active_count
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> waiting;
  bool stopping = false;
  std::atomic<int64_t> active_count{0};
  std::atomic<int64_t> cache_bytes{0};
  std::thread thread;

  Impl(models::ElaraModel model, EngineOptions opts)
      : decoder(std::move(model), opts.release_model_weights), o(std::move(opts)) {}

  void run();
  void step(std::vector<Slot*>& busy);
  void admit(std::shared_ptr<Job> job);
  void emit(Slot& s, const TokenChoice& c);
  void finish(Slot& s, const std::string& reason, const std::string& error = "");
  bool cancelled(const Job& j) {
    std::lock_guard<std::mutex> lock(const_cast<Job&>(j).mu_);
    return j.cancelled_;
  }
};

Engine::Engine(models::ElaraModel model, std::shared_ptr<const Tokenizer> tokenizer,
               std::vector<int64_t> stop_ids, EngineOptions options,
               std::function<bool(int64_t)> is_special, Metrics* metrics)
    : o_(options) {
  if (o_.parallel < 1 || o_.parallel > 256)
    throw UsageError("--parallel: got " + std::to_string(o_.parallel) + ", expected 1..256");
  if (o_.queue < 0)
    throw UsageError("--queue: got " + std::to_string(o_.queue) + ", expected >= 0");
  if (o_.prefill_chunk < 1) throw UsageError("prefill_chunk must be >= 1");
  model->eval();
  const int64_t block = model->config().block_size;
  ctx_ = o_.ctx == 0 ? std::min<int64_t>(block, 4096) : o_.ctx;
  if (ctx_ < 2 || ctx_ > block)
    throw UsageError("--ctx: got " + std::to_string(o_.ctx) + ", expected 2.." +
                     std::to_string(block) + " (the model's context, block_size)");
  impl_ = std::make_unique<Impl>(std::move(model), o_);
  impl_->tokenizer = std::move(tokenizer);
  impl_->stop_ids = std::move(stop_ids);
  impl_->is_special = is_special ? std::move(is_special) : [](int64_t) { return false; };
  impl_->metrics = metrics;
  impl_->ctx = ctx_;
  impl_->slots.resize(static_cast<size_t>(o_.parallel));
  if (o_.scheduler_thread) impl_->thread = std::thread([this] { impl_->run(); });
}

Engine::~Engine() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Engine::run() {
  if (o_.scheduler_thread) throw UsageError("Engine::run: the scheduler has its own thread");
  impl_->run();
}

void Engine::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
}

int64_t Engine::vocab_size() const { return impl_->decoder.model()->config().vocab_size; }
int64_t Engine::hidden_size() const { return impl_->decoder.model()->config().n_embd; }
int64_t Engine::queued() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int64_t>(impl_->waiting.size());
}
int64_t Engine::active() const { return impl_->active_count.load(); }
int64_t Engine::cache_bytes() const { return impl_->cache_bytes.load(); }

void Engine::check_ids(const std::vector<int64_t>& ids, const char* what) const {
  if (ids.empty()) throw UsageError(std::string("the ") + what + " is empty");
  const int64_t V = vocab_size();
  for (const int64_t id : ids)
    if (id < 0 || id >= V)
      throw UsageError("token id " + std::to_string(id) + " in the " + what +
                       " is outside the vocabulary 0.." + std::to_string(V - 1));
}

std::shared_ptr<Job> Engine::submit(std::vector<int64_t> prompt, const GenerationParams& params) {
  check_ids(prompt, "prompt");
  const int64_t P = static_cast<int64_t>(prompt.size());
  if (P >= ctx_)
    throw ContextExceeded("the prompt is " + std::to_string(P) + " tokens and the context " +
                              std::to_string(ctx_) + ": no room for an answer",
                          P, ctx_);
  if (params.max_tokens > 0 && P + params.max_tokens > ctx_)
    throw ContextExceeded("the prompt (" + std::to_string(P) + " tokens) and max_tokens (" +
                              std::to_string(params.max_tokens) + ") exceed the context of " +
                              std::to_string(ctx_) + " tokens",
                          P, ctx_);
  auto job = std::make_shared<Job>();
  job->prompt_ = std::move(prompt);
  job->params_ = params;
  enqueue(job);
  return job;
}

std::shared_ptr<Job> Engine::submit_embedding(std::vector<int64_t> ids) {
  check_ids(ids, "input");
  const int64_t P = static_cast<int64_t>(ids.size());
  if (P > ctx_)
    throw ContextExceeded("the input is " + std::to_string(P) + " tokens and the context " +
                              std::to_string(ctx_),
                          P, ctx_);
  auto job = std::make_shared<Job>();
  job->prompt_ = std::move(ids);
  job->embed_ = true;
  enqueue(job);
  return job;
}

void Engine::enqueue(const std::shared_ptr<Job>& job) {
  job->submitted_ = Clock::now();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) throw QueueFull("the server is stopping");
    const int64_t free_slots = o_.parallel - impl_->active_count.load();
    if (static_cast<int64_t>(impl_->waiting.size()) >= o_.queue + free_slots)
      throw QueueFull("the server is busy: its " + std::to_string(o_.parallel) +
                      " slots and its queue of " + std::to_string(o_.queue) +
                      " requests are full; retry later");
    impl_->waiting.push_back(job);
  }
  impl_->cv.notify_all();
}

// ---- the scheduler loop -----------------------------------------------------------------------

void Engine::Impl::run() {
  torch::NoGradGuard no_grad;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stopping || !waiting.empty() || active_count.load() > 0; });
      if (stopping) break;
      while (!waiting.empty() && active_count.load() < static_cast<int64_t>(slots.size())) {
        auto job = std::move(waiting.front());
        waiting.pop_front();
        admit(std::move(job));
      }
    }
    std::vector<Slot*> busy;
    for (auto& s : slots) {
      if (!s.job) continue;
      if (cancelled(*s.job)) {
        finish(s, "cancelled");
        continue;
      }
      busy.push_back(&s);
    }
    if (!busy.empty()) step(busy);
  }
  for (auto& s : slots)
    if (s.job) finish(s, "shutdown");
  std::lock_guard<std::mutex> lock(mu);
  for (auto& job : waiting) {
    std::lock_guard<std::mutex> jl(job->mu_);
    job->fin_.reason = "shutdown";
    job->done_ = true;
    job->cv_.notify_all();
  }
  waiting.clear();
}

// Puts a job into the free slot whose cache shares the longest prefix with its prompt.
void Engine::Impl::admit(std::shared_ptr<Job> job) {
  const auto& prompt = job->prompt_;
  Slot* best = nullptr;
  size_t best_keep = 0;
  for (auto& s : slots) {
    if (s.job) continue;
    size_t keep = 0;
    while (keep < s.cached.size() && keep < prompt.size() && s.cached[keep] == prompt[keep]) ++keep;
    if (!best || keep > best_keep) {
      best = &s;
      best_keep = keep;
    }
  }
  Slot& s = *best;
  // Always feed at least the prompt's last id (its logits); embeddings need every hidden state.
  const size_t keep = job->embed_ ? 0 : std::min(best_keep, prompt.size() - 1);
  s.cache.truncate(static_cast<int64_t>(keep));
  s.cached.resize(keep);
  s.fed = keep;
  s.generated = 0;
  s.last = -1;
  s.held.clear();
  s.sampler.emplace(job->params_.sampling);
  s.stream.emplace(tokenizer);
  s.started = Clock::now();
  s.job = std::move(job);
  {
    std::lock_guard<std::mutex> jl(s.job->mu_);
    s.job->fin_.cached_tokens = static_cast<int64_t>(keep);
    s.job->fin_.queue_s = seconds(s.job->submitted_, s.started);
  }
  active_count.fetch_add(1);
}

void Engine::Impl::step(std::vector<Slot*>& busy) {
  std::vector<models::DecodeRequest> reqs(busy.size());
  for (size_t i = 0; i < busy.size(); ++i) {
    Slot& s = *busy[i];
    auto& r = reqs[i];
    r.cache = &s.cache;
    const auto& prompt = s.job->prompt_;
    if (s.fed < prompt.size()) {
      const size_t n = std::min(prompt.size() - s.fed, static_cast<size_t>(o.prefill_chunk));
      r.ids.assign(prompt.begin() + static_cast<std::ptrdiff_t>(s.fed),
                   prompt.begin() + static_cast<std::ptrdiff_t>(s.fed + n));
      r.hidden = s.job->embed_;
    } else {
      r.ids = {s.last};
    }
  }
  std::vector<models::DecodeResult> out;
  try {
    out = decoder.forward_batch(reqs);
  } catch (const std::exception& e) {
    log_error("serve: a batched forward failed: {}", e.what());
    for (Slot* s : busy) {
      s->cache.clear();  // its content is unknown now
      s->cached.clear();
      finish(*s, "error", e.what());
    }
    return;
  }
  int64_t bytes = 0;
  for (const auto& s : slots) bytes += s.cache.bytes();
  cache_bytes = bytes;
  // The next tokens of the sequences past their prompts, picked in parallel: each slot has its
  // own sampler, and a pick reads a whole vocabulary of logits.
  std::vector<size_t> picking;
  for (size_t i = 0; i < busy.size(); ++i)
    if (!busy[i]->job->embed_ && busy[i]->fed + reqs[i].ids.size() >= busy[i]->job->prompt_.size())
      picking.push_back(i);
  std::vector<TokenChoice> picks(busy.size());
  at::parallel_for(0, static_cast<int64_t>(picking.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const size_t i = picking[static_cast<size_t>(k)];
      const auto& logits = out[i].logits;  // (1, V)
      const int64_t V = logits.size(1);
      picks[i] = busy[i]->sampler->pick(logits.data_ptr<float>() + (logits.size(0) - 1) * V, V);
    }
  });
  for (size_t i = 0; i < busy.size(); ++i) {
    Slot& s = *busy[i];
    const auto& ids = reqs[i].ids;
    s.cached.insert(s.cached.end(), ids.begin(), ids.end());
    const size_t P = s.job->prompt_.size();
    if (s.fed < P) {
      s.fed += ids.size();
      if (metrics) metrics->add_prompt_tokens(static_cast<int64_t>(ids.size()));
      if (s.job->embed_) {
        // Running sum of the hidden states, the mean taken at the end.
        auto sum = out[i].hidden.sum(0).to(torch::kDouble);  // (C)
        auto& e = s.job->fin_.embedding;
        if (e.empty()) e.assign(static_cast<size_t>(sum.numel()), 0.0f);
        const double* v = sum.data_ptr<double>();
        for (size_t c = 0; c < e.size(); ++c) e[c] += static_cast<float>(v[c]);
        if (s.fed == P) finish(s, "stop");
        continue;
      }
      if (s.fed < P) continue;  // more prompt to feed next step
    }
    emit(s, picks[i]);
  }
}

void Engine::Impl::emit(Slot& s, const TokenChoice& c) {
  const auto now = Clock::now();
  if (metrics) {
    if (s.generated == 0)
      metrics->observe_ttft(seconds(s.job->submitted_, now));
    else
      metrics->observe_token_latency(seconds(s.last_token, now));
    metrics->add_generated_tokens(1);
  }
  if (s.generated == 0) s.first = now;
  s.last_token = now;
  ++s.generated;
  s.last = c.id;
  const auto& params = s.job->params_;
  const bool stop_id = !params.ignore_eos &&
                       std::find(stop_ids.begin(), stop_ids.end(), c.id) != stop_ids.end();
  if (!stop_id && !is_special(c.id)) s.held += s.stream->push(c.id);
  std::string reason;
  size_t release = s.held.size();
  // The earliest stop string in the text not released yet ends the answer before it.
  size_t cut = std::string::npos;
  for (const auto& stop : params.stop) cut = std::min(cut, s.held.find(stop));
  if (cut != std::string::npos) {
    reason = "stop";
    release = cut;
  } else if (stop_id) {
    reason = "stop";
  } else if ((params.max_tokens >= 0 && s.generated >= params.max_tokens) ||
             static_cast<int64_t>(s.job->prompt_.size()) + s.generated >= ctx) {
    reason = "length";
  }
  if (reason.empty()) {
    release = s.held.size() - held_suffix(s.held, params.stop);
  } else if (cut == std::string::npos) {
    s.held += s.stream->finish();
    release = s.held.size();
  }
  bool wake = false;  // wait() needs only the end
  {
    std::lock_guard<std::mutex> lock(s.job->mu_);
    s.job->pending_.text.append(s.held, 0, release);
    if (!stop_id) s.job->pending_.tokens.push_back(TokenOut{c.id, c.logprob, c.top});
    wake = s.job->streaming_;
  }
  s.held.erase(0, release);
  if (wake) s.job->cv_.notify_all();
  if (!reason.empty()) finish(s, reason);
}

void Engine::Impl::finish(Slot& s, const std::string& reason, const std::string& error) {
  const auto now = Clock::now();
  auto job = std::move(s.job);
  // The slot is free before the job is seen done: a caller woken by the end finds it free.
  s.sampler.reset();
  s.stream.reset();
  active_count.fetch_sub(1);
  {
    std::lock_guard<std::mutex> lock(job->mu_);
    Finish& f = job->fin_;
    f.reason = reason;
    f.error = error;
    f.prompt_tokens = static_cast<int64_t>(job->prompt_.size());
    f.completion_tokens = s.generated;
    f.prompt_s = seconds(s.started, s.generated > 0 ? s.first : now);
    f.eval_s = s.generated > 0 ? seconds(s.first, now) : 0.0;
    f.total_s = seconds(job->submitted_, now);
    if (job->embed_ && reason == "stop") {
      // Mean, then unit length (what Ollama's /api/embed and most embedding APIs give).
      double norm = 0;
      for (auto& v : f.embedding) {
        v /= static_cast<float>(job->prompt_.size());
        norm += static_cast<double>(v) * v;
      }
      norm = std::sqrt(norm);
      if (norm > 0)
        for (auto& v : f.embedding) v = static_cast<float>(v / norm);
    }
    job->done_ = true;
  }
  job->cv_.notify_all();
}

}  // namespace elarin::serve
