// elarin checkpoints on top of safetensors: version and config in __metadata__.
#include "elarin/core/checkpoint.hpp"

#include "elarin/core/config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/safetensors.hpp"

namespace elarin {

void save_checkpoint(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                     const Config& config, const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> metadata = extra;
  metadata[kFormatKey] = std::to_string(kCheckpointFormat);
  metadata[Config::kMetadataKey] = config.to_json().dump();
  save_safetensors(path, tensors, metadata);
}

Checkpoint load_checkpoint(const std::string& path) {
  auto st = SafeTensors::open(path);
  Checkpoint ck;
  ck.metadata = st.metadata();
  auto version = ck.metadata.find(kFormatKey);
  if (version == ck.metadata.end()) {
    throw FormatError(path + ": not an elarin checkpoint (no '" + std::string(kFormatKey) +
                      "' in __metadata__)");
  }
  if (version->second != std::to_string(kCheckpointFormat)) {
    throw FormatError(path + ": checkpoint has format " + version->second + ", this build reads " +
                      std::to_string(kCheckpointFormat));
  }
  auto config = ck.metadata.find(Config::kMetadataKey);
  if (config != ck.metadata.end()) {
    try {
      ck.config = nlohmann::json::parse(config->second);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(path + ": stored config is not valid JSON: " + e.what());
    }
  }
  ck.tensors = st.tensors();
  return ck;
}

}  // namespace elarin
