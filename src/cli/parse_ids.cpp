// Token ids on the command line (see the header).
#include "parse_ids.hpp"

#include <torch/torch.h>

#include <vector>

#include "elarin/core/errors.hpp"

namespace elarin::cli {

torch::Tensor parse_ids(const std::string& text) {
  std::vector<std::vector<int64_t>> rows(1);
  std::string token;
  auto flush = [&](char sep) {
    if (token.empty()) {
      throw UsageError("--ids: empty entry in '" + text + "'; expected comma-separated integers");
    }
    size_t pos = 0;
    long long v = 0;
    try {
      v = std::stoll(token, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != token.size() || v < 0) {
      throw UsageError("--ids: '" + token + "' is not a non-negative integer");
    }
    rows.back().push_back(v);
    token.clear();
    if (sep == ';') rows.emplace_back();
  };
  for (char c : text) {
    if (c == ',' || c == ';') {
      flush(c);
    } else if (c != ' ') {
      token.push_back(c);
    }
  }
  flush('\0');
  for (const auto& r : rows) {
    if (r.size() != rows[0].size()) {
      throw UsageError("--ids: rows separated by ';' must have the same length");
    }
  }
  auto out = torch::empty({int64_t(rows.size()), int64_t(rows[0].size())}, torch::kLong);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy(rows[i].begin(), rows[i].end(), out[i].data_ptr<int64_t>());
  }
  return out;
}

}  // namespace elarin::cli
