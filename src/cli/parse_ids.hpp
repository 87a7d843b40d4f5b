// Token ids on the command line: "3,17,5" -> (1, 3); "1,2;3,4" -> (2, 2) (rows separated by
// ';', of equal length). Shared by encode and sample.
#pragma once

#include <torch/types.h>

#include <string>

namespace elarin::cli {

// UsageError naming the bad entry (empty, not a non-negative integer, ragged rows).
torch::Tensor parse_ids(const std::string& text);

}  // namespace elarin::cli
