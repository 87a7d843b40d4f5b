// The serving engine on a small Elara model and a byte tokenizer: jobs decoded together
// (continuous batching, joining at different times) give exactly the greedy ids each gets
// alone through generate(); a stop string cuts the text before it and is never streamed; a
// full queue refuses at submit; a cancelled job frees its slot; context limits are checked
// before work; an embedding is the normalised mean of the final hidden states.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <thread>
#include <cmath>
#include <string>
#include <vector>

#include "elarin/models/elara/decoder.hpp"
#include "elarin/models/elara/generate.hpp"
#include "elarin/serve/engine.hpp"

namespace {

using namespace elarin;
using serve::Engine;
using serve::EngineOptions;
using serve::GenerationParams;

// Byte i is token i.
class ByteTokenizer final : public Tokenizer {
 public:
  std::vector<int64_t> encode(const std::string& t) const override {
    return std::vector<int64_t>(t.begin(), t.end());
  }
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string s;
    for (auto id : ids) s += static_cast<char>(id);
    return s;
  }
  int64_t vocab_size() const override { return 256; }
};

models::ElaraModel model() {
  torch::manual_seed(7);
  models::ElaraConfig c;
  c.vocab_size = 256;
  c.block_size = 96;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.n_embd = 32;
  models::ElaraModel m(c);
  m->eval();
  return m;
}

std::vector<int64_t> greedy_alone(models::ElaraModel& m, const std::vector<int64_t>& prompt, int64_t n) {
  models::GenerateOptions o;
  o.max_new_tokens = n;
  o.temperature = 0;
  auto out = models::generate(m, torch::tensor(prompt).unsqueeze(0), o);
  return std::vector<int64_t>(out.data_ptr<int64_t>() + prompt.size(), out.data_ptr<int64_t>() + out.numel());
}

std::vector<int64_t> ids_of(const std::vector<serve::TokenOut>& t) {
  std::vector<int64_t> v;
  for (const auto& x : t) v.push_back(x.id);
  return v;
}

GenerationParams greedy(int64_t n) {
  GenerationParams g;
  g.max_tokens = n;
  g.sampling.temperature = 0;
  return g;
}

TEST(ServeEngine, BatchedJobsGiveTheGreedyIdsEachGetsAlone) {
  auto m = model();
  auto tok = std::make_shared<ByteTokenizer>();
  EngineOptions o;
  o.parallel = 3;
  o.prefill_chunk = 5;  // prompts fed in chunks beside the others' decode steps
  Engine engine(m, tok, {}, o);
  const std::vector<std::string> prompts = {"Hello there, engine", "ab", "A longer prompt of some bytes", "xyz!"};
  std::vector<std::shared_ptr<serve::Job>> jobs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    jobs.push_back(engine.submit(tok->encode(prompts[i]), greedy(12 + 3 * static_cast<int64_t>(i))));
    if (i == 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a late joiner
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto fin = jobs[i]->wait();
    EXPECT_EQ(fin.reason, "length");
    EXPECT_EQ(fin.prompt_tokens, static_cast<int64_t>(prompts[i].size()));
    const auto want = greedy_alone(m, tok->encode(prompts[i]), 12 + 3 * static_cast<int64_t>(i));
    EXPECT_EQ(ids_of(jobs[i]->tokens()), want) << "prompt " << i;
    EXPECT_EQ(jobs[i]->text(), tok->decode(want));
  }
  // The same prompt again reuses the slot's cache: all but the last prompt token.
  auto again = engine.submit(tok->encode(prompts[2]), greedy(4));
  const auto fin = again->wait();
  EXPECT_EQ(fin.cached_tokens, static_cast<int64_t>(prompts[2].size()) - 1);
  EXPECT_EQ(ids_of(again->tokens()), greedy_alone(m, tok->encode(prompts[2]), 4));
}

TEST(ServeEngine, AStopStringEndsTheTextBeforeItAndIsNeverStreamed) {
  auto m = model();
  auto tok = std::make_shared<ByteTokenizer>();
  Engine engine(m, tok, {}, EngineOptions{});
  const auto prompt = tok->encode("The stop string test");
  const std::string whole = tok->decode(greedy_alone(m, prompt, 20));
  const std::string stop = whole.substr(6, 3);
  auto g = greedy(20);
  g.stop = {"never appears \x01", stop};
  auto job = engine.submit(prompt, g);
  serve::Delta d;
  serve::Finish fin;
  while (!job->next(&d, &fin, std::chrono::milliseconds(100))) {
  }
  EXPECT_EQ(fin.reason, "stop");
  EXPECT_EQ(d.text, whole.substr(0, whole.find(stop)));
}

// Stopping the engine ends a running job and a queued one as "shutdown" (the server sends the
// client a final error frame), and refuses new ones.
// One slot, `queue` places behind it, a context of 96.
EngineOptions one_slot(int64_t queue) {
  EngineOptions o;
  o.parallel = 1;
  o.queue = queue;
  o.ctx = 96;
  return o;
}

// Greedy until the context is full.
GenerationParams endless() {
  auto g = greedy(-1);
  g.ignore_eos = true;
  return g;
}

TEST(ServeEngine, StoppingEndsRunningAndQueuedJobsAsShutdown) {
  auto tok = std::make_shared<ByteTokenizer>();
  Engine engine(model(), tok, {}, one_slot(1));
  auto running = engine.submit(tok->encode("x"), endless());
  auto queued = engine.submit(tok->encode("y"), endless());
  engine.stop();
  const auto a = running->wait(), b = queued->wait();
  EXPECT_TRUE(a.reason == "shutdown" || a.reason == "length") << a.reason;
  EXPECT_EQ(b.reason, "shutdown");
  EXPECT_THROW(engine.submit(tok->encode("z"), greedy(2)), serve::QueueFull);
}

TEST(ServeEngine, AFullQueueRefusesAndACancelledJobFreesItsSlot) {
  auto tok = std::make_shared<ByteTokenizer>();
  Engine engine(model(), tok, {}, one_slot(0));
  auto long_job = engine.submit(tok->encode("x"), endless());
  EXPECT_THROW(engine.submit(tok->encode("y"), greedy(2)), serve::QueueFull);
  long_job->cancel();
  const auto fin = long_job->wait();
  EXPECT_TRUE(fin.reason == "cancelled" || fin.reason == "length") << fin.reason;
  auto next = engine.submit(tok->encode("y"), greedy(2));
  EXPECT_EQ(next->wait().reason, "length");
  EXPECT_EQ(engine.active(), 0);
}

TEST(ServeEngine, ContextLimitsAreCheckedBeforeWork) {
  auto m = model();
  auto tok = std::make_shared<ByteTokenizer>();
  EngineOptions o;
  o.ctx = 32;
  Engine engine(m, tok, {}, o);
  EXPECT_THROW(engine.submit(std::vector<int64_t>(32, 65), greedy(1)), serve::ContextExceeded);
  EXPECT_THROW(engine.submit(std::vector<int64_t>(20, 65), greedy(13)), serve::ContextExceeded);
  EXPECT_THROW(engine.submit({}, greedy(1)), UsageError);
  EXPECT_THROW(engine.submit({300}, greedy(1)), UsageError);
  // Without max_tokens the answer runs to the end of the context.
  auto g = greedy(-1);
  g.ignore_eos = true;
  const auto fin = engine.submit(std::vector<int64_t>(20, 65), g)->wait();
  EXPECT_EQ(fin.reason, "length");
  EXPECT_EQ(fin.completion_tokens, 12);
  EXPECT_THROW(Engine(m, tok, {}, EngineOptions{4, 64, 97, 256}), UsageError);  // ctx > block_size
}

TEST(ServeEngine, AnEmbeddingIsTheNormalisedMeanOfTheFinalHiddenStates) {
  auto m = model();
  auto tok = std::make_shared<ByteTokenizer>();
  EngineOptions o;
  o.prefill_chunk = 4;
  Engine engine(m, tok, {}, o);
  const auto ids = tok->encode("an embedding of these bytes");
  const auto fin = engine.submit_embedding(ids)->wait();
  ASSERT_EQ(fin.embedding.size(), 32u);
  models::ElaraDecoder dec(m);
  models::DecoderCache cache;
  models::DecodeRequest r;
  r.cache = &cache;
  r.ids = ids;
  r.hidden = true;
  auto mean = dec.forward_batch({r})[0].hidden.mean(0);
  mean = mean / mean.norm();
  double diff = 0;
  for (int64_t i = 0; i < 32; ++i) diff = std::max(diff, std::fabs(fin.embedding[static_cast<size_t>(i)] - mean[i].item<double>()));
  EXPECT_LT(diff, 1e-5) << "max difference " << diff;
}

}  // namespace
