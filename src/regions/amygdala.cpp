// Amygdala: valence. Two appraisals:
// - of what the brain reads: wernicke's meaning against the valence table (phrases that
//   praise or scold, brain/valence.hpp), the softmax-weighted vote of the `k` nearest
//   phrases: the `mood` port, -1..1, 0 when nothing is read;
// - of each name it could say: the hippocampus's recall of similar episodes (rewarded ones
//   for their answer, punished ones against it), scaled by `recall_gain`: the `valence`
//   port the motor scores candidates with and the hypothalamus reads back for the answer
//   given (a favourable prediction is a small dopamine boost).
// Its table is saved as `<state_dir>/valence.safetensors` (not amygdala.safetensors): the
// phrases' mean meaning, their meanings less that mean at unit length (N, meaning), and their
// valences (N). Words read are centred on the same mean: what all phrases share says "these
// are words", not which. An empty table appraises all as 0.
// Leaves out learning valence from outcomes (the basal ganglia and hippocampus do that).
#include <torch/torch.h>

#include <filesystem>

#include "elarin/brain/valence.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "regions/kinds.hpp"

namespace elarin::regions {
namespace {

struct AmygdalaSettings {
  int64_t meaning = 128;
  int64_t k = 5;
  double tau = 0.05;
  double recall_gain = 1.0;
  template <class V>
  void visit(V& v) {
    v("meaning", meaning, "size of wernicke's meaning (the table's rows)", at_least(1));
    v("k", k, "nearest phrases of the valence table that vote on a mood", at_least(1));
    v("tau", tau, "vote weight softmax(cosine / tau)", greater_than(0));
    v("recall_gain", recall_gain, "a name's predicted valence = recall_gain x episodic recall");
  }
};

class Amygdala : public brain::Region {
 public:
  Amygdala(const AmygdalaSettings& s, const brain::BrainFacts& f)
      : Region("amygdala"), s_(s), vocab_(static_cast<int64_t>(f.vocabulary.size())) {
    check_constraints(s, "region.amygdala");
    initialise(0);
  }
  std::vector<brain::PortSpec> inputs() const override {
    return {{"meaning", s_.meaning}, {"recall", vocab_}};
  }
  std::vector<brain::PortSpec> outputs() const override {
    return {{"valence", vocab_}, {"mood", 1}};
  }

  brain::Ports tick(const brain::TickContext&, const brain::Ports& in) override {
    return {{"valence", in.at("recall") * s_.recall_gain},
            {"mood", torch::full({1}, float(mood(in.at("meaning"))))}};
  }

  // The table: samples (N, meaning) are wernicke's meanings of brain::valence_phrases().
  bool develops() const override { return true; }
  void develop(const torch::Tensor& samples, uint64_t) override {
    const auto& phrases = brain::valence_phrases();
    const auto n = static_cast<int64_t>(phrases.size());
    TORCH_CHECK(samples.dim() == 2 && samples.size(0) == n && samples.size(1) == s_.meaning,
                "amygdala.develop: expected the meanings of the ", n, " valence phrases, (", n,
                ", ", s_.meaning, "), got ", samples.sizes());
    std::vector<float> v;
    for (const auto& p : phrases) v.push_back(p.valence);
    auto rows = samples.to(torch::kFloat);
    centre_ = rows.mean(0);
    rows = rows - centre_;
    table_ = rows / rows.norm(2, 1, true).clamp_min(1e-12);
    valence_ = torch::tensor(v);
    log_info("amygdala: valence table of {} phrases", n);
  }

  brain::RegionState state() const override {
    return {{"table.meaning", table_.clone()},
            {"table.valence", valence_.clone()},
            {"table.centre", centre_.clone()}};
  }
  void load_state(const brain::RegionState& st) override {
    const auto& m = brain::state_tensor(st, "table.meaning", {-1, s_.meaning}, torch::kFloat);
    const auto& v = brain::state_tensor(st, "table.valence", {m.size(0)}, torch::kFloat);
    const auto& c = brain::state_tensor(st, "table.centre", {s_.meaning}, torch::kFloat);
    if (v.numel() > 0 && v.abs().max().item<float>() > 1)
      throw FormatError("state tensor 'table.valence' holds values outside -1..1");
    table_ = m.clone();
    valence_ = v.clone();
    centre_ = c.clone();
  }
  void initialise(uint64_t) override {
    table_ = torch::zeros({0, s_.meaning});
    valence_ = torch::zeros({0});
    centre_ = torch::zeros({s_.meaning});
  }
  // The table lives in valence.safetensors beside where the region's own file would be.
  Restored restore(const std::string& path, bool neurogenesis, uint64_t seed) override {
    return Region::restore(table_path(path), neurogenesis, seed);
  }
  bool persist(const std::string& path,
               const std::map<std::string, std::string>& metadata) const override {
    return Region::persist(table_path(path), metadata);
  }

 private:
  static std::string table_path(const std::string& path) {
    return (std::filesystem::path(path).parent_path() / "valence.safetensors").string();
  }
  double mood(const torch::Tensor& meaning) const {
    const int64_t n = table_.size(0);
    if (n == 0 || meaning.abs().sum().item<double>() == 0) return 0.0;  // nothing read
    auto q = meaning - centre_;
    auto sims = table_.matmul(q / q.norm().clamp_min(1e-12));  // (N) cosines
    auto top = sims.topk(std::min(s_.k, n));
    auto w = torch::softmax(std::get<0>(top) / s_.tau, 0);
    return (w * valence_.index_select(0, std::get<1>(top))).sum().item<double>();
  }

  AmygdalaSettings s_;
  int64_t vocab_;
  torch::Tensor table_;    // (N, meaning) unit rows: the phrases' meanings
  torch::Tensor valence_;  // (N) +1 / -1
  torch::Tensor centre_;   // (meaning) the phrases' mean meaning
};

}  // namespace

brain::RegionKind amygdala_kind() {
  return brain::make_region_kind<Amygdala, AmygdalaSettings>(
      "amygdala", "valence: of words read (a table of phrases) and of each name (recall)");
}

}  // namespace elarin::regions
