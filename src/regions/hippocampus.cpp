// Hippocampus: episodic memory. Every answered tick is stored as an episode: the fused
// state it saw (unit length), the answer and its outcome (+1 rewarded, -1 punished). A tick
// recalls the k most similar episodes from a FAISS index (exact inner product while small,
// HNSW beyond `hnsw_above`) and outputs, per vocabulary name, the similarity-weighted vote
// of those episodes: a rewarded neighbour votes for its answer, a punished one against.
// Persisted as its episode table; the index is rebuilt from it on load. With a `capacity` the
// memory forgets its oldest episodes: once full, a new episode first drops the oldest
// capacity/16 (rounded up) and the index is rebuilt from the rest. Forgetting in chunks keeps
// the cost of a rebuild (a memcpy for flat, a graph for HNSW) off most ticks; the memory holds
// between capacity - chunk + 1 and capacity episodes once it has filled.
// With `replay` > 0 it also replays that many stored episodes a tick, drawn uniformly with
// the tick's seed (so one process and a region process replay the same), on the ports
// replay_state (replay x input, unit rows), replay_answer (ids) and replay_outcome (+1 / -1;
// 0 marks an empty slot while the memory is empty): the interleaved replay a slow cortical
// learner (the dmn) consolidates, as in McClelland et al.'s complementary learning systems.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/splitmix.hpp"
#include "elarin/core/errors.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct HippocampusSettings {
  int64_t input = 512;
  int64_t k = 10;
  double tau = 0.05;  // tuned: docs/BENCHMARKS.md
  std::string index = "auto";
  int64_t hnsw_above = 20000;
  int64_t hnsw_m = 32;
  int64_t capacity = 0;
  int64_t replay = 0;
  template <class V>
  void visit(V& v) {
    v("input", input, "size of the stored state (the thalamus's fused vector)", at_least(1));
    v("k", k, "episodes recalled per tick", at_least(1));
    v("tau", tau, "recall weight exp((cosine - 1) / tau)", greater_than(0));
    v("index", index, "flat | hnsw | auto: flat, then HNSW past hnsw_above episodes",
      one_of({"flat", "hnsw", "auto"}));
    v("hnsw_above", hnsw_above, "episodes after which index=auto switches to HNSW", at_least(0));
    v("hnsw_m", hnsw_m, "HNSW graph degree (M)", at_least(2));
    v("capacity", capacity,
      "most episodes kept (each input + 2 values); once full the oldest capacity/16 are "
      "forgotten at a time; 0 = no limit",
      at_least(0));
    v("replay", replay,
      "stored episodes replayed per tick on the replay_* ports (the dmn learns from them); "
      "0 = no replay",
      at_least(0));
  }
};

class Hippocampus : public brain::Region {
 public:
  Hippocampus(const HippocampusSettings& s, const brain::BrainFacts& f)
      : Region("hippocampus"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.hippocampus");
    if (vocab_ < 1) throw UsageError("hippocampus: brain.vocabulary is empty");
    rebuild();
  }
  std::vector<brain::PortSpec> inputs() const override { return {{"state", s_.input}}; }
  std::vector<brain::PortSpec> outputs() const override {
    std::vector<brain::PortSpec> ports = {{"recall", vocab_}, {"episodes", 1}};
    if (s_.replay > 0)
      ports.insert(ports.end(), {{"replay_state", s_.replay * s_.input},
                                 {"replay_answer", s_.replay},
                                 {"replay_outcome", s_.replay}});
    return ports;
  }

  brain::Ports tick(const brain::TickContext& ctx, const brain::Ports& in) override {
    auto x = in.at("state");
    const double norm = x.norm().item<double>();
    auto recall = torch::zeros({vocab_});
    query_ = norm > 0 ? (x / norm).contiguous() : torch::Tensor();
    const int64_t n = static_cast<int64_t>(actions_.size());
    if (query_.defined() && n > 0) {
      const int64_t k = std::min(s_.k, n);
      std::vector<float> sims(static_cast<size_t>(k));
      std::vector<faiss::Index::idx_t> ids(static_cast<size_t>(k));
      index_->search(1, query_.data_ptr<float>(), k, sims.data(), ids.data());
      auto* r = recall.data_ptr<float>();
      double total = 0;
      for (int64_t j = 0; j < k; ++j) {
        const auto id = ids[static_cast<size_t>(j)];
        if (id < 0) continue;
        const double w = std::exp((double(sims[static_cast<size_t>(j)]) - 1.0) / s_.tau);
        r[actions_[static_cast<size_t>(id)]] +=
            static_cast<float>(w * outcomes_[static_cast<size_t>(id)]);
        total += w;
      }
      recall /= (total + 1e-3);
    }
    brain::Ports out = {{"recall", recall}, {"episodes", torch::full({1}, float(n))}};
    if (s_.replay > 0) replay(ctx.seed, out);
    return out;
  }

  void learn(const brain::Neuromodulators& m) override {
    if (!query_.defined() || m.action < 0 || m.action >= vocab_ || m.reward == 0) return;
    const float outcome = m.reward > 0 ? 1.0f : -1.0f;
    const bool full = s_.capacity > 0 && static_cast<int64_t>(actions_.size()) >= s_.capacity;
    if (full)  // keep capacity - chunk: room for this episode and the next chunk - 1
      forget_oldest(actions_.size() - static_cast<size_t>(s_.capacity - forget_chunk()));
    keys_.insert(keys_.end(), query_.data_ptr<float>(), query_.data_ptr<float>() + s_.input);
    actions_.push_back(m.action);
    outcomes_.push_back(outcome);
    if (full || wants_hnsw() != hnsw_)
      rebuild();
    else
      index_->add(1, query_.data_ptr<float>());
    query_ = torch::Tensor();  // one episode per tick
  }

  std::map<std::string, double> learning() const override {
    return {{"episodes", double(index_ ? index_->ntotal : 0)}};
  }
  brain::RegionState state() const override {
    const int64_t n = static_cast<int64_t>(actions_.size());
    return {
        {"episodes.keys",
         torch::from_blob(const_cast<float*>(keys_.data()), {n, s_.input}).clone()},
        {"episodes.actions",
         torch::from_blob(const_cast<int64_t*>(actions_.data()), {n}, torch::kLong).clone()},
        {"episodes.outcomes", torch::from_blob(const_cast<float*>(outcomes_.data()), {n}).clone()}};
  }

  void load_state(const brain::RegionState& st) override {
    const auto& keys = brain::state_tensor(st, "episodes.keys", {-1, s_.input}, torch::kFloat);
    const int64_t n = keys.size(0);
    const auto& acts = brain::state_tensor(st, "episodes.actions", {n}, torch::kLong);
    const auto& outs = brain::state_tensor(st, "episodes.outcomes", {n}, torch::kFloat);
    if (n > 0 && (acts.min().item<int64_t>() < 0 || acts.max().item<int64_t>() >= vocab_))
      throw FormatError("episodes.actions: an answer outside the vocabulary of " +
                        std::to_string(vocab_));
    auto k = keys.contiguous();
    auto a = acts.contiguous();
    auto o = outs.contiguous();
    keys_.assign(k.data_ptr<float>(), k.data_ptr<float>() + n * s_.input);
    actions_.assign(a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + n);
    outcomes_.assign(o.data_ptr<float>(), o.data_ptr<float>() + n);
    if (s_.capacity > 0 && n > s_.capacity)  // a smaller capacity than the file's: keep the newest
      forget_oldest(static_cast<size_t>(n - s_.capacity));
    rebuild();
  }

  void initialise(uint64_t) override {
    keys_.clear();
    actions_.clear();
    outcomes_.clear();
    rebuild();
  }

 private:
  // `replay` episodes drawn uniformly (with repeats) by a splitmix64 stream of `seed`.
  void replay(uint64_t seed, brain::Ports& out) const {
    auto state = torch::zeros({s_.replay, s_.input});
    auto answer = torch::zeros({s_.replay});
    auto outcome = torch::zeros({s_.replay});
    const auto n = static_cast<uint64_t>(actions_.size());
    uint64_t z = seed ^ 0x6a09e667f3bcc909ULL;  // a stream apart from the motor's draws
    for (int64_t r = 0; r < s_.replay && n > 0; ++r) {
      z += kSplitMixGamma;
      const size_t id = static_cast<size_t>(splitmix64_finish(z) % n);
      std::copy_n(keys_.data() + id * static_cast<size_t>(s_.input), s_.input,
                  state.data_ptr<float>() + r * s_.input);
      answer[r] = float(actions_[id]);
      outcome[r] = outcomes_[id];
    }
    out["replay_state"] = state.flatten();
    out["replay_answer"] = answer;
    out["replay_outcome"] = outcome;
  }
  int64_t forget_chunk() const { return std::max<int64_t>(1, (s_.capacity + 15) / 16); }
  void forget_oldest(size_t count) {  // the oldest `count` episodes; the caller rebuilds
    count = std::min(count, actions_.size());
    keys_.erase(keys_.begin(), keys_.begin() + static_cast<std::ptrdiff_t>(count * s_.input));
    actions_.erase(actions_.begin(), actions_.begin() + static_cast<std::ptrdiff_t>(count));
    outcomes_.erase(outcomes_.begin(), outcomes_.begin() + static_cast<std::ptrdiff_t>(count));
  }
  bool wants_hnsw() const {
    return s_.index == "hnsw" ||
           (s_.index == "auto" && static_cast<int64_t>(actions_.size()) > s_.hnsw_above);
  }
  void rebuild() {
    hnsw_ = wants_hnsw();
    if (hnsw_)
      index_ =
          std::make_unique<faiss::IndexHNSWFlat>(s_.input, s_.hnsw_m, faiss::METRIC_INNER_PRODUCT);
    else
      index_ = std::make_unique<faiss::IndexFlatIP>(s_.input);
    if (!actions_.empty()) index_->add(static_cast<int64_t>(actions_.size()), keys_.data());
  }

  HippocampusSettings s_;
  int64_t vocab_;
  std::vector<float> keys_;       // (N, input) unit vectors
  std::vector<int64_t> actions_;  // (N)
  std::vector<float> outcomes_;   // (N) +1 / -1
  std::unique_ptr<faiss::Index> index_;
  bool hnsw_ = false;
  torch::Tensor query_;  // this tick's unit state, stored by learn
};

}  // namespace

brain::RegionKind hippocampus_kind() {
  return brain::make_region_kind<Hippocampus, HippocampusSettings>(
      "hippocampus", "episodic memory: FAISS kNN recall of past answers and their outcomes");
}

}  // namespace elarin::regions
