// A region that lives in another process: every call is a request over the corpus callosum
// to the `elarin region` process of that name, which runs the real region. The brain's
// schedule cannot tell it from a local region, which is how the same brain runs in one
// process or in many with identical outputs. Leaves out the sockets (corpus_callosum.hpp).
//
//   elarin::brain::CorpusCallosum cc(options, {"thalamus"});
//   elarin::brain::RemoteRegion thalamus("thalamus", cc);   // ports from its hello
//   auto out = thalamus.tick(ctx, in);                        // computed in its process
#pragma once

#include "elarin/brain/corpus_callosum.hpp"
#include "elarin/brain/region.hpp"

namespace elarin::brain {

class RemoteRegion : public Region {
 public:
  RemoteRegion(const std::string& name, CorpusCallosum& bus);

  std::vector<PortSpec> inputs() const override { return inputs_; }
  std::vector<PortSpec> outputs() const override { return outputs_; }
  Ports tick(const TickContext& ctx, const Ports& in) override;
  // tick() in two halves: the request goes out now, finish_tick waits for the outputs.
  int64_t start_tick(const TickContext& ctx, const Ports& in);
  Ports finish_tick(int64_t id);
  void learn(const Neuromodulators& mods) override;  // posted: no wait
  RegionState state() const override;
  void load_state(const RegionState& state) override;
  void initialise(uint64_t seed) override;
  bool develops() const override { return develops_; }
  void develop(const torch::Tensor& samples, uint64_t seed) override;
  bool modulates() const override { return modulates_; }
  Neuromodulators neuromodulate(int64_t tick, double reward, bool treat) override;
  Restored restore(const std::string& path, bool neurogenesis, uint64_t seed) override;
  bool persist(const std::string& path,
               const std::map<std::string, std::string>& metadata) const override;

 private:
  CorpusCallosum& bus_;
  std::vector<PortSpec> inputs_, outputs_;
  bool develops_ = false, modulates_ = false;
};

}  // namespace elarin::brain
