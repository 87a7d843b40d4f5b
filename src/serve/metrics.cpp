// Prometheus text for the server's counters and histograms (see the header).
#include "elarin/serve/metrics.hpp"

#include <algorithm>
#include <sstream>

namespace elarin::serve {

void Metrics::Histogram::observe(double v) {
  if (counts.size() != bounds.size() + 1) counts.assign(bounds.size() + 1, 0);
  const auto b = std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin();
  ++counts[static_cast<size_t>(b)];
  sum += v;
  ++count;
}

void Metrics::count_request(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
}
void Metrics::add_prompt_tokens(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += n;
}
void Metrics::add_generated_tokens(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  generated_tokens_ += n;
}
void Metrics::observe_ttft(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.observe(seconds);
}
void Metrics::observe_token_latency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  token_.observe(seconds);
}

int64_t Metrics::requests(const std::string& route, int status) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = requests_.find({route, status});
  return it == requests_.end() ? 0 : static_cast<int64_t>(it->second);
}

namespace {

void header(std::ostringstream& o, const std::string& name, const std::string& help,
            const char* type) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string Metrics::render(const std::vector<Gauge>& gauges) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream o;
  header(o, "elarin_requests_total", "HTTP requests by route and status.", "counter");
  for (const auto& [key, n] : requests_)
    o << "elarin_requests_total{route=\"" << label_value(key.first) << "\",status=\""
      << key.second << "\"} " << n << "\n";
  header(o, "elarin_prompt_tokens_total", "Prompt tokens fed to the model.", "counter");
  o << "elarin_prompt_tokens_total " << prompt_tokens_ << "\n";
  header(o, "elarin_generated_tokens_total", "Tokens generated.", "counter");
  o << "elarin_generated_tokens_total " << generated_tokens_ << "\n";
  for (const auto& g : gauges) {
    header(o, g.name, g.help, "gauge");
    o << g.name << " " << g.value << "\n";
  }
  const auto histogram = [&](const std::string& name, const std::string& help,
                             const Histogram& h) {
    header(o, name, help, "histogram");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      cumulative += h.counts.empty() ? 0 : h.counts[i];
      o << name << "_bucket{le=\"" << h.bounds[i] << "\"} " << cumulative << "\n";
    }
    o << name << "_bucket{le=\"+Inf\"} " << h.count << "\n";
    o << name << "_sum " << h.sum << "\n" << name << "_count " << h.count << "\n";
  };
  histogram("elarin_time_to_first_token_seconds", "From a request's arrival to its first token.",
            ttft_);
  histogram("elarin_token_latency_seconds", "Between two tokens of one answer.", token_);
  return o.str();
}

}  // namespace elarin::serve
