// The layering rule: a file of a lower layer never includes a higher one. Layers, low to high:
// core, data, nn, models, brain, regions, hive, serve, cli; a file's layer is its directory
// right under src/ or include/elarin/. Reads the tree as text (every #include line, in any
// file); leaves out tests/, bench/, fuzz/ and examples/, which may include anything.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;

// Low to high. A new top-level directory takes its place here before it holds files.
const std::vector<std::string> kLayers = {"core",    "data", "nn",    "models", "brain",
                                          "regions", "hive", "serve", "cli"};

int rank_of(const std::string& layer) {
  const auto it = std::find(kLayers.begin(), kLayers.end(), layer);
  return it == kLayers.end() ? -1 : static_cast<int>(it - kLayers.begin());
}

// The directory right under the root of a path relative to it ("" for a file at the root).
std::string top_directory(const fs::path& rel) {
  auto it = rel.begin();
  if (it == rel.end() || std::next(it) == rel.end()) return "";
  return it->string();
}

// The layer of `path` if it lies under one of `roots` ("" if under none).
std::string layer_under(const fs::path& path, const std::vector<fs::path>& roots) {
  for (const auto& root : roots) {
    const fs::path rel = path.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != "..") return top_directory(rel);
  }
  return "";
}

// The layer an include names: "elarin/<layer>/..." (a public header), "<layer>/..." (src-
// relative) or "../<layer>/..." (relative to the including file); "" for a header beside the
// including file or outside elarin (torch, the standard library).
std::string include_layer(const std::string& target, bool quoted, const fs::path& file_dir,
                          const std::vector<fs::path>& roots) {
  const fs::path t(target);
  if (t.empty()) return "";
  const std::string first = t.begin()->string();
  if (first == "elarin") return top_directory(t.lexically_relative("elarin"));
  if (!quoted) return "";
  if (first == "..") return layer_under((file_dir / t).lexically_normal(), roots);
  if (rank_of(first) >= 0 && std::next(t.begin()) != t.end()) return first;
  return "";
}

struct Scan {
  int files = 0;
  int includes = 0;                 // elarin includes that name a layer
  std::vector<std::string> errors;  // "src/core/x.cpp:12: ..."
};

// Every file under `repo`/src and `repo`/include/elarin, checked against the rule.
Scan scan_layers(const fs::path& repo) {
  const std::vector<fs::path> roots = {(repo / "src").lexically_normal(),
                                       (repo / "include" / "elarin").lexically_normal()};
  static const std::regex kInclude(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  Scan scan;
  for (const auto& root : roots) {
    if (!fs::exists(root)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root))
      if (entry.is_regular_file()) files.push_back(entry.path().lexically_normal());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      ++scan.files;
      const std::string shown = file.lexically_relative(repo).string();
      const std::string layer = top_directory(file.lexically_relative(root));
      if (rank_of(layer) < 0) {
        scan.errors.push_back(shown + ": " +
                              (layer.empty() ? std::string("lies in no layer directory")
                                             : "directory '" + layer + "' is no layer") +
                              " (layers: core, data, nn, models, brain, regions, hive, serve, "
                              "cli; a new one goes into kLayers of tests/test_layering.cpp)");
        continue;
      }
      std::ifstream in(file);
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        std::smatch m;
        if (!std::regex_search(line, m, kInclude)) continue;
        const std::string target = m[2];
        const std::string to = include_layer(target, m[1] == "\"", file.parent_path(), roots);
        if (to.empty()) continue;
        ++scan.includes;
        if (rank_of(to) < 0) {
          scan.errors.push_back(shown + ":" + std::to_string(number) + ": includes \"" + target +
                                "\" from '" + to + "', which is no layer");
        } else if (rank_of(to) > rank_of(layer)) {
          scan.errors.push_back(shown + ":" + std::to_string(number) + ": " + layer +
                                " includes \"" + target + "\" of " + to +
                                ", a higher layer (low to high: core, data, nn, models, brain, "
                                "regions, hive, serve, cli)");
        }
      }
    }
  }
  return scan;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(Layering, NoLowerLayerIncludesAHigherOne) {
  const Scan scan = scan_layers(ELARIN_SOURCE_DIR);
  ASSERT_GT(scan.files, 100) << "found too few files under " ELARIN_SOURCE_DIR "/src";
  ASSERT_GT(scan.includes, 100) << "found too few elarin includes: is the pattern broken?";
  EXPECT_TRUE(scan.errors.empty()) << scan.errors.size() << " layering violation(s):\n"
                                   << joined(scan.errors);
}

// The rule itself, on a planted tree: each upward include is found, with its file and line;
// downward, same-layer and outside includes pass.
TEST(Layering, APlantedUpwardIncludeIsNamed) {
  elarin::test::TempDir repo;
  auto write = [&](const std::string& rel, const std::string& text) {
    const fs::path p = fs::path(repo.path) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  };
  write("src/core/clock.cpp",
        "#include <torch/torch.h>\n#include \"elarin/core/errors.hpp\"\n"
        "#include \"elarin/brain/brain.hpp\"\n");
  write("src/nn/moe/router.cpp", "// x\n  #  include \"../../models/hf/loader.hpp\"\n");
  write("include/elarin/data/wav.hpp", "#include \"regions/kinds.hpp\"\n");
  write("src/cli/main.cpp", "#include \"elarin/core/errors.hpp\"\n#include \"commands.hpp\"\n");
  write("src/regions/retina.cpp", "#include \"elarin/brain/region.hpp\"\n");
  write("src/toys/x.cpp", "\n");
  const Scan scan = scan_layers(repo.path);
  EXPECT_EQ(scan.files, 6);
  ASSERT_EQ(scan.errors.size(), 4u) << joined(scan.errors);
  const std::string all = joined(scan.errors);
  for (const char* want :
       {"src/core/clock.cpp:3: core includes \"elarin/brain/brain.hpp\" of brain, a higher layer",
        "src/nn/moe/router.cpp:2: nn includes \"../../models/hf/loader.hpp\" of models",
        "include/elarin/data/wav.hpp:1: data includes \"regions/kinds.hpp\" of regions",
        "src/toys/x.cpp: directory 'toys' is no layer"})
    EXPECT_NE(all.find(want), std::string::npos) << want << "\nin:\n" << all;
}

}  // namespace
