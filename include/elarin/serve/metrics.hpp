// The server's counters and histograms, rendered in Prometheus' text format for GET /metrics:
// requests by route and status, prompt and generated tokens, time to first token and the time
// between tokens; gauges (queue depth, active slots, cache bytes) are passed in when rendering.
// Thread-safe. Leaves out labels beyond route and status.
//
//   elarin::serve::Metrics m;
//   m.count_request("/v1/chat/completions", 200);
//   m.observe_ttft(0.042);
//   std::string text = m.render({{"elarin_queue_depth", "requests waiting for a slot", 0}});
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace elarin::serve {

struct Gauge {
  std::string name, help;
  double value = 0;
};

class Metrics {
 public:
  void count_request(const std::string& route, int status);
  void add_prompt_tokens(int64_t n);
  void add_generated_tokens(int64_t n);
  void observe_ttft(double seconds);           // submit to first token
  void observe_token_latency(double seconds);  // between two tokens of one answer
  std::string render(const std::vector<Gauge>& gauges) const;
  int64_t requests(const std::string& route, int status) const;

 private:
  struct Histogram {
    std::vector<double> bounds;    // upper bounds, ascending (+Inf implicit)
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    double sum = 0;
    uint64_t count = 0;
    void observe(double v);
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  int64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  Histogram ttft_{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}, {}, 0, 0};
  Histogram token_{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}, {}, 0, 0};
};

}  // namespace elarin::serve
