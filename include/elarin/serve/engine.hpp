// The serving engine: requests wait in a bounded queue for one of `parallel` slots, and one
// scheduler thread runs the decode steps of every active slot as ONE batched forward
// (continuous batching: each sequence keeps its own KV cache and position, joins when a slot
// frees and leaves when it ends). Prompts are fed in chunks beside the others' decode steps; a
// slot keeps its cache after a request, and a new request goes to the free slot whose cache
// shares the longest prefix with its prompt (a chat's earlier turns are not recomputed). Text
// comes out whole (UTF-8 characters, stop strings held back until they cannot match). Leaves out
// HTTP (server.hpp) and draft-and-verify decoding.
//
//   #include "elarin/data/hf_tokenizer.hpp"
//   #include "elarin/models/hf/llama.hpp"
//   auto tok = elarin::load_hf_tokenizer("models/Qwen3-0.6B");
//   elarin::serve::Engine engine(elarin::load_hf_elara("models/Qwen3-0.6B"), tok,
//                                tok->info().eos_ids, {});
//   elarin::serve::GenerationParams g;
//   g.max_tokens = 32;  g.sampling.temperature = 0;
//   auto job = engine.submit(tok->encode("The capital of France is", true), g);
//   elarin::serve::Finish fin = job->wait();  // or job->next() for the stream
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "elarin/core/errors.hpp"
#include "elarin/data/tokenizer.hpp"
#include "elarin/models/elara/elara_model.hpp"
#include "elarin/serve/sampler.hpp"

namespace elarin::serve {

class Metrics;

struct EngineOptions {
  int64_t parallel = 4;         // slots decoded together in one batched forward
  int64_t queue = 64;           // requests that may wait behind busy slots; more get QueueFull
  int64_t ctx = 0;              // positions per slot (prompt + answer); 0 = min(block_size, 4096)
  int64_t prefill_chunk = 256;  // prompt tokens a slot feeds per step, so others keep streaming
  // The scheduler on a thread of its own; false: the caller runs it with run(). Running it on
  // the thread that loaded the model keeps one OpenMP team: a second team's idle workers make
  // libgomp stop spinning (more threads than cores), which cost ~25% of decoding speed here.
  bool scheduler_thread = true;
  // Free the model's own weights as the decoder packs its copy (take_weights in
  // models/elara/decoder.hpp): for a process that serves only through this engine.
  bool release_model_weights = false;
};

struct GenerationParams {
  SamplingParams sampling;
  int64_t max_tokens = -1;        // new tokens at most; -1 = until the context is full
  std::vector<std::string> stop;  // the answer ends before the first of these strings
  bool ignore_eos = false;        // go on past the model's stop ids (benchmarks)
};

// One generated token, for log-probabilities.
struct TokenOut {
  int64_t id = 0;
  float logprob = 0;
  std::vector<std::pair<int64_t, float>> top;  // (id, log p) best first
};

// What a request produced since the last look.
struct Delta {
  std::string text;              // whole UTF-8 text, special tokens left out
  std::vector<TokenOut> tokens;  // the tokens generated since (text may lag behind them)
};

struct Finish {
  std::string reason;              // "stop", "length", "cancelled", "shutdown" or "error"
  std::string error;               // the message when reason is "error"
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;       // prompt tokens the slot's cache already held
  int64_t completion_tokens = 0;
  double queue_s = 0;              // waiting for a slot
  double prompt_s = 0;             // from taking the slot to the first token
  double eval_s = 0;               // from the first token to the end
  double total_s = 0;              // from submit to the end
  std::vector<float> embedding;    // for embed requests: the mean of the final hidden states
};

class Engine;

// A request's handle, shared by the caller (an HTTP thread) and the scheduler.
class Job {
 public:
  // Waits up to `timeout` for text or the end; appends what came to *delta. Returns true once
  // the job has finished (then *fin is filled and every delta was handed out).
  bool next(Delta* delta, Finish* fin, std::chrono::milliseconds timeout);
  Finish wait();         // blocks to the end; then text() and tokens() hold the answer
  const std::string& text() const { return all_text_; }  // after wait(): the whole answer
  const std::vector<TokenOut>& tokens() const { return all_tokens_; }  // after wait()
  void cancel();         // the client left: frees the slot at the next step

 private:
  friend class Engine;
  std::mutex mu_;
  std::condition_variable cv_;
  Delta pending_;
  bool done_ = false;
  Finish fin_;
  bool cancelled_ = false;
  bool streaming_ = false;  // a next() caller wants each delta; wait() only the end
  std::string all_text_;
  std::vector<TokenOut> all_tokens_;
  // Set by submit, read by the scheduler only.
  std::vector<int64_t> prompt_;
  GenerationParams params_;
  bool embed_ = false;
  std::chrono::steady_clock::time_point submitted_;
};

// submit() when the queue is full (HTTP 503).
class QueueFull : public Error {
 public:
  using Error::Error;
};
// submit() when the prompt (and max_tokens) do not fit the context (HTTP 400).
class ContextExceeded : public UsageError {
 public:
  ContextExceeded(const std::string& msg, int64_t prompt_tokens, int64_t ctx)
      : UsageError(msg), prompt_tokens(prompt_tokens), ctx(ctx) {}
  int64_t prompt_tokens, ctx;
};

class Engine {
 public:
  // stop_ids end an answer; is_special(id) tokens are left out of the text (may be empty).
  Engine(models::ElaraModel model, std::shared_ptr<const Tokenizer> tokenizer,
         std::vector<int64_t> stop_ids, EngineOptions options,
         std::function<bool(int64_t)> is_special = {}, Metrics* metrics = nullptr);
  ~Engine();  // stop(), and joins the scheduler's thread
  // The scheduler on the calling thread, until stop() (with scheduler_thread = false).
  void run();
  // Ends the scheduler; jobs still running or queued finish as "shutdown".
  void stop();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a generation. UsageError for an empty prompt or a bad id or parameter,
  // ContextExceeded, QueueFull.
  std::shared_ptr<Job> submit(std::vector<int64_t> prompt, const GenerationParams& params);
  // Queues an embedding: Finish::embedding is the L2-normalised mean of the final hidden states.
  std::shared_ptr<Job> submit_embedding(std::vector<int64_t> ids);

  int64_t context() const { return ctx_; }
  int64_t vocab_size() const;
  int64_t hidden_size() const;
  const EngineOptions& options() const { return o_; }
  int64_t queued() const;  // waiting for a slot
  int64_t active() const;  // in a slot
  int64_t cache_bytes() const;  // the slots' KV caches now

 private:
  void check_ids(const std::vector<int64_t>& ids, const char* what) const;
  void enqueue(const std::shared_ptr<Job>& job);  // QueueFull

  struct Impl;
  std::unique_ptr<Impl> impl_;
  EngineOptions o_;
  int64_t ctx_ = 0;
};

}  // namespace elarin::serve
