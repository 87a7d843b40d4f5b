// Tests of the safetensors reader and writer: round trips, byte-exact output against the
// reference implementation's vectors, the malformed corpus, lazy reads, atomic writes.
#include "elarin/core/safetensors.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"

namespace elarin {
namespace {

namespace fs = std::filesystem;

const std::string kDataDir = ELARIN_SOURCE_DIR "/tests/data/safetensors";

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "elarin-st-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::set<std::string> listing() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.insert(e.path().filename().string());
    return out;
  }

 private:
  fs::path path_;
};

// Same dtype, same shape, same bytes: bit-exact, so NaN, -0.0 and denormals count too.
::testing::AssertionResult same_bits(const torch::Tensor& got, const torch::Tensor& want) {
  if (got.scalar_type() != want.scalar_type()) {
    return ::testing::AssertionFailure()
           << "dtype " << got.scalar_type() << " vs " << want.scalar_type();
  }
  if (got.sizes() != want.sizes()) {
    return ::testing::AssertionFailure() << "shape " << got.sizes() << " vs " << want.sizes();
  }
  const torch::Tensor a = got.contiguous(), b = want.contiguous();
  if (a.nbytes() > 0 && std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) != 0) {
    return ::testing::AssertionFailure() << "bytes differ:\n" << got << "\nvs\n" << want;
  }
  return ::testing::AssertionSuccess();
}

// The message of the FormatError `fn` throws; a test failure if it throws nothing or another type.
template <class Fn>
std::string format_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const FormatError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than FormatError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "accepted";
  return "";
}

std::string le64(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  return out;
}

SafeTensors from_string(const std::string& bytes, const std::string& origin = "<buffer>") {
  return SafeTensors::from_buffer(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                  origin);
}

// Each supported dtype, with values that cover its range.
std::map<std::string, torch::Tensor> every_dtype() {
  torch::manual_seed(7);
  std::map<std::string, torch::Tensor> out;
  const auto shape = std::vector<int64_t>{2, 3, 4};
  // randint defaults to float, which cannot hold every int32: draw as int64, then narrow.
  out["t.BOOL"] = torch::randint(0, 2, shape, torch::kLong).to(torch::kBool);
  out["t.U8"] = torch::randint(0, 256, shape, torch::kLong).to(torch::kByte);
  out["t.I8"] = torch::randint(-128, 128, shape, torch::kLong).to(torch::kChar);
  out["t.I16"] = torch::randint(-32768, 32768, shape, torch::kLong).to(torch::kShort);
  out["t.I32"] = torch::randint(-(1LL << 31), 1LL << 31, shape, torch::kLong).to(torch::kInt);
  out["t.I64"] = torch::randint(-(1LL << 62), 1LL << 62, shape, torch::kLong);
  out["t.F16"] = (torch::randn(shape) * 100).to(torch::kHalf);
  out["t.BF16"] = (torch::randn(shape) * 1e20).to(torch::kBFloat16);
  out["t.F64"] = torch::randn(shape, torch::kDouble) * 1e200;
  out["t.F32"] = torch::tensor({NAN, INFINITY, -INFINITY, -0.0f, 1e-40f, 3.25f});
  return out;
}

TEST(SafeTensors, RoundTripsEveryDtypeShapeAndMetadata) {
  auto in = every_dtype();
  in["scalar"] = torch::scalar_tensor(3.5, torch::kDouble);            // 0-d
  in["empty.rows"] = torch::zeros({0, 4});                             // zero-size
  in["empty.mid"] = torch::empty({3, 0, 2}, torch::kLong);             // zero-size
  in["transposed"] = torch::arange(12, torch::kInt).view({3, 4}).t();  // not contiguous
  const std::map<std::string, std::string> meta = {{"format", "pt"},
                                                   {"config", "{\"lr\": 0.1}\n\t\"quoted\""},
                                                   {"unicode", "h\xC3\xA9llo"},
                                                   {"empty", ""}};

  const SafeTensors st = from_string(safetensors_bytes(in, meta));
  EXPECT_EQ(st.metadata(), meta);
  ASSERT_EQ(st.names().size(), in.size());
  for (const auto& [name, want] : in) {
    ASSERT_TRUE(st.contains(name)) << name;
    EXPECT_TRUE(same_bits(st.tensor(name), want)) << name;
  }
  EXPECT_EQ(st.info("scalar").shape, std::vector<int64_t>{});
  EXPECT_EQ(st.info("empty.mid").shape, (std::vector<int64_t>{3, 0, 2}));
  EXPECT_EQ(st.info("t.BF16").dtype, "BF16");
  EXPECT_EQ(st.tensor("t.F32").scalar_type(), torch::kFloat);

  // Every tensor starts aligned to its element size, as in Hugging Face's layout.
  for (const std::string& name : st.names()) {
    const TensorInfo& info = st.info(name);
    EXPECT_EQ(info.begin % safetensors_dtype_size(info.dtype), 0u) << name;
  }
}

TEST(SafeTensors, SavesAndOpensTheSameContent) {
  TempDir dir;
  const auto in = every_dtype();
  const std::map<std::string, std::string> meta = {{"step", "12"}};
  const std::string path = dir.file("all.safetensors");
  save_safetensors(path, in, meta);
  EXPECT_EQ(read_file(path), safetensors_bytes(in, meta));

  const SafeTensors st = SafeTensors::open(path);
  EXPECT_EQ(st.path(), path);
  EXPECT_EQ(st.metadata(), meta);
  const auto out = st.tensors();
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [name, want] : in) EXPECT_TRUE(same_bits(out.at(name), want)) << name;
  EXPECT_EQ(dir.listing(), std::set<std::string>{"all.safetensors"});
}

// Expected bytes come from the reference implementation's own tests (safetensors/src/tensor.rs)
// and, for the dtype ordering, from its rule: widest dtype first, then by name.
TEST(SafeTensors, WritesTheReferenceImplementationsBytes) {
  const std::string f32_0_to_5(
      "\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00"
      "\xa0\x40",
      24);
  EXPECT_EQ(safetensors_bytes({{"attn.0", torch::arange(6, torch::kFloat).view({1, 2, 3})}}),
            le64(64) + R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" +
                f32_0_to_5);
  EXPECT_EQ(safetensors_bytes({}), le64(8) + "{}      ");
  EXPECT_EQ(safetensors_bytes({}, {{"framework", "pt"}}),
            le64(40) + R"({"__metadata__":{"framework":"pt"}}     )");

  const std::map<std::string, torch::Tensor> mixed = {{"a", torch::ones({1}, torch::kHalf)},
                                                      {"b", torch::ones({1}, torch::kLong)},
                                                      {"c", torch::scalar_tensor(2.0f)},
                                                      {"d", torch::tensor({true, false})}};
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                             R"("c":{"dtype":"F32","shape":[],"data_offsets":[8,12]},)"
                             R"("a":{"dtype":"F16","shape":[1],"data_offsets":[12,14]},)"
                             R"("d":{"dtype":"BOOL","shape":[2],"data_offsets":[14,16]}})"
                             "       ";
  const std::string data(
      "\x01\0\0\0\0\0\0\0"
      "\x00\x00\x00\x40"
      "\x00\x3c"
      "\x01\x00",
      16);
  EXPECT_EQ(safetensors_bytes(mixed, {{"format", "pt"}}), le64(256) + header + data);
}

struct Expected {
  std::string file;
  std::string substring;
};

std::vector<Expected> read_expected() {
  std::ifstream in(kDataDir + "/malformed/EXPECTED.txt");
  std::vector<Expected> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) throw std::runtime_error("EXPECTED.txt: no tab in: " + line);
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

TEST(SafeTensors, RefusesEveryMalformedFileWithItsOwnMessage) {
  const std::vector<Expected> table = read_expected();
  ASSERT_GE(table.size(), 14u);
  std::set<std::string> listed, on_disk;
  for (const Expected& e : table) listed.insert(e.file);
  for (const auto& f : fs::directory_iterator(kDataDir + "/malformed")) {
    if (f.path().extension() == ".safetensors") on_disk.insert(f.path().filename().string());
  }
  ASSERT_EQ(listed, on_disk) << "EXPECTED.txt and the corpus disagree";

  std::set<std::string> messages;  // with the origin stripped
  for (const Expected& e : table) {
    SCOPED_TRACE(e.file);
    const std::string path = kDataDir + "/malformed/" + e.file;
    const std::string message = format_error_of([&] { SafeTensors::open(path); });
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;  // names the file first
    EXPECT_NE(message.find(e.substring), std::string::npos) << message;
    for (const Expected& other : table) {
      if (other.file != e.file) {
        EXPECT_EQ(message.find(other.substring), std::string::npos)
            << message << "\n  also matches the message expected for " << other.file;
      }
    }
    // The in-memory path validates identically, under its own origin.
    const std::string bytes = read_file(path);
    const std::string from_buffer = format_error_of([&] { from_string(bytes, "mem:" + e.file); });
    const std::string defect = message.substr(std::min(message.size(), path.size() + 2));
    EXPECT_EQ(from_buffer, "mem:" + e.file + ": " + defect);
    messages.insert(defect);
  }
  EXPECT_EQ(messages.size(), table.size()) << "two files share a message";
}

TEST(SafeTensors, ReadsFilesFromAnIndependentWriter) {
  const std::string path = kDataDir + "/valid/mixed.safetensors";
  const std::string raw = read_file(path);
  ASSERT_GE(raw.size(), 8u);
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  ASSERT_EQ((8 + n) % 2, 1u) << "the data section should start at an odd offset";

  const SafeTensors st = SafeTensors::open(path);
  EXPECT_EQ(st.metadata().at("format"), "pt");
  // Offset order, although the header lists the tensors in reverse name order.
  EXPECT_EQ(st.names(),
            (std::vector<std::string>{"u.u8", "l.i64", "e.empty", "m.bool", "f.f32", "h.f16",
                                      "s.scalar", "i.i8", "z.f64", "b.bf16", "a.i16"}));
  EXPECT_TRUE(same_bits(st.tensor("u.u8"), torch::tensor({0, 128, 255}).to(torch::kByte)));
  EXPECT_TRUE(
      same_bits(st.tensor("l.i64"), torch::tensor({-(int64_t{1} << 40), (int64_t{1} << 40) + 1})));
  EXPECT_TRUE(same_bits(st.tensor("e.empty"), torch::empty({0, 3})));
  EXPECT_TRUE(same_bits(st.tensor("m.bool"), torch::tensor({true, false, false, true})));
  EXPECT_TRUE(
      same_bits(st.tensor("f.f32"), torch::tensor({0.25f, -1.0f, 3.5f, 1e-3f}).view({2, 2})));
  EXPECT_TRUE(same_bits(st.tensor("h.f16"), torch::tensor({1.0f, -2.0f}).to(torch::kHalf)));
  EXPECT_TRUE(same_bits(st.tensor("s.scalar"), torch::scalar_tensor(7, torch::kInt)));
  EXPECT_TRUE(same_bits(st.tensor("i.i8"), torch::tensor({-128, 127}).to(torch::kChar)));
  EXPECT_TRUE(same_bits(st.tensor("z.f64"), torch::tensor({1.5, -2.25}, torch::kDouble)));
  EXPECT_TRUE(same_bits(st.tensor("b.bf16"), torch::tensor({1.0f, 0.5f}).to(torch::kBFloat16)));
  EXPECT_TRUE(same_bits(st.tensor("a.i16"), torch::tensor({-1, 2, 300}).to(torch::kShort)));

  const SafeTensors empty = SafeTensors::open(kDataDir + "/valid/metadata-only.safetensors");
  EXPECT_TRUE(empty.names().empty());
  EXPECT_EQ(empty.metadata(), (std::map<std::string, std::string>{{"framework", "pt"}}));
}

TEST(SafeTensors, AcceptsZeroSizeTensorsAtAnyBoundaryAndSpacePadding) {
  const std::string header = R"({"y":{"dtype":"F32","shape":[0,5],"data_offsets":[8,8]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                             R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                             R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   )";
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);  // 1.0f, 2.0f
  const SafeTensors st = from_string(le64(header.size()) + header + data);
  EXPECT_EQ(st.names(), (std::vector<std::string>{"a", "z", "b", "y"}));
  EXPECT_TRUE(same_bits(st.tensor("b"), torch::tensor({2.0f})));
  EXPECT_TRUE(same_bits(st.tensor("y"), torch::empty({0, 5})));
}

TEST(SafeTensors, ReadsLazilyAndReturnsOwningCopies) {
  TempDir dir;
  const std::string path = dir.file("lazy.safetensors");
  std::string bytes = safetensors_bytes(
      {{"good", torch::tensor({1.5f, -2.0f, 4.0f})}, {"flags", torch::tensor({true, false})}});
  // Corrupt the BOOL data (the last two bytes): open() must not look at tensor data at all.
  bytes[bytes.size() - 1] = 2;
  write_file_atomic(path, bytes);

  torch::Tensor kept;
  {
    SafeTensors st = SafeTensors::open(path);
    EXPECT_EQ(st.names().size(), 2u);
    const std::string message = format_error_of([&] { st.tensor("flags"); });
    EXPECT_NE(message.find("tensor 'flags' (BOOL) holds byte 2 at element 1"), std::string::npos)
        << message;

    kept = st.tensor("good");
    kept.fill_(0);  // an owning copy: the file's bytes are untouched
    EXPECT_TRUE(same_bits(st.tensor("good"), torch::tensor({1.5f, -2.0f, 4.0f})));

    const SafeTensors copy = st;  // shares the mapping
    st = SafeTensors();
    EXPECT_TRUE(same_bits(copy.tensor("good"), torch::tensor({1.5f, -2.0f, 4.0f})));
    kept = copy.tensor("good");
  }
  // Every SafeTensors (and the mapping) is gone; the tensor owns its memory.
  EXPECT_TRUE(same_bits(kept, torch::tensor({1.5f, -2.0f, 4.0f})));
}

TEST(SafeTensors, MissingTensorIsAnErrorNamingTheClosestNames) {
  const torch::Tensor x = torch::zeros({1});
  const SafeTensors st = from_string(safetensors_bytes({{"h.0.attn.weight", x},
                                                        {"h.0.attn.bias", x},
                                                        {"h.0.mlp.weight", x},
                                                        {"h.1.attn.weight", x},
                                                        {"wte", x},
                                                        {"wpe", x},
                                                        {"ln_f", x}}),
                                     "gpt.safetensors");
  EXPECT_TRUE(st.contains("wte"));
  EXPECT_FALSE(st.contains("h.0.atn.weight"));
  try {
    st.tensor("h.0.atn.weight");
    FAIL() << "no error for a missing tensor";
  } catch (const FormatError& e) {
    FAIL() << "a missing name is not a file defect: " << e.what();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("gpt.safetensors: no tensor 'h.0.atn.weight' among its 7 tensors"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("'h.0.attn.bias', 'h.0.attn.weight', 'h.0.mlp.weight'"), std::string::npos)
        << m;
    EXPECT_EQ(m.find("'wte'"), std::string::npos) << "more than 5 names or a poor pick: " << m;
  }
  EXPECT_THROW(st.info("nope"), Error);
}

TEST(SafeTensors, OpenTellsIOErrorsFromFormatErrors) {
  TempDir dir;
  const std::string missing = dir.file("missing.safetensors");
  try {
    SafeTensors::open(missing);
    FAIL() << "opened a missing file";
  } catch (const FormatError& e) {
    FAIL() << "a missing file is not a format defect: " << e.what();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot open '" + missing + "': No such file or directory");
  }
  try {
    SafeTensors::open(dir.file(""));
    FAIL() << "opened a directory";
  } catch (const FormatError& e) {
    FAIL() << "a directory is not a format defect: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
  }
  const std::string empty = dir.file("empty.safetensors");
  std::ofstream(empty).close();
  EXPECT_EQ(format_error_of([&] { SafeTensors::open(empty); }),
            empty + ": file is 0 bytes, too short to hold the 8-byte header length");
}

TEST(SafeTensors, FailedWriteLeavesTheOldFileAndNoTempFile) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  save_safetensors(path, {{"w", torch::arange(4, torch::kFloat)}});
  const std::string old = read_file(path);
  ASSERT_LT(old.size(), 1024u);

  // Let the process write at most 1 KiB per file: the 40 KB checkpoint fails mid-write with
  // EFBIG, as a full disk would (this works as root too, unlike a read-only directory).
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  std::string message;
  try {
    save_safetensors(path, {{"w", torch::zeros({10000})}});
  } catch (const Error& e) {
    message = e.what();
  }
  std::signal(SIGXFSZ, old_handler);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);

  EXPECT_NE(message.find("cannot write '" + path + "'"), std::string::npos) << message;
  EXPECT_EQ(read_file(path), old);
  EXPECT_TRUE(same_bits(SafeTensors::open(path).tensor("w"), torch::arange(4, torch::kFloat)));
  EXPECT_EQ(dir.listing(), std::set<std::string>{"w.safetensors"});

  // The target is a directory: the rename fails, the directory and its file stay.
  fs::create_directory(dir.file("sub"));
  std::ofstream(dir.file("sub/keep")) << "keep";
  EXPECT_THROW(save_safetensors(dir.file("sub"), {{"w", torch::zeros({2})}}), Error);
  EXPECT_TRUE(fs::is_directory(dir.file("sub")));
  EXPECT_EQ(read_file(dir.file("sub/keep")), "keep");
  EXPECT_EQ(dir.listing(), (std::set<std::string>{"sub", "w.safetensors"}));

  // An unstorable tensor is refused before anything touches the disk.
  EXPECT_THROW(save_safetensors(path, {{"c", torch::zeros({2}, torch::kComplexFloat)}}),
               UsageError);
  EXPECT_EQ(read_file(path), old);
}

TEST(SafeTensors, WriterRefusesWhatItCannotStore) {
  const torch::Tensor x = torch::zeros({2});
  EXPECT_THROW(safetensors_bytes({{"", x}}), UsageError);
  EXPECT_THROW(safetensors_bytes({{"__metadata__", x}}), UsageError);
  EXPECT_THROW(safetensors_bytes({{"u", torch::Tensor()}}), UsageError);
  EXPECT_THROW(safetensors_bytes({{"s", x.to_sparse()}}), UsageError);
  try {
    safetensors_bytes({{"c", torch::zeros({2}, torch::kComplexFloat)}});
    FAIL() << "wrote a complex tensor";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot store dtype ComplexFloat"), std::string::npos)
        << e.what();
  }
  try {
    safetensors_bytes({{"bad\xff", x}});
    FAIL() << "wrote a name that is not UTF-8";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("is not valid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(safetensors_bytes({{"x", x}}, {{"k", "\xc3"}}), UsageError);
}

TEST(SafeTensors, MapsDtypeNamesBothWays) {
  const std::vector<std::pair<std::string, torch::ScalarType>> table = {
      {"BOOL", torch::kBool}, {"U8", torch::kByte},       {"I8", torch::kChar},
      {"I16", torch::kShort}, {"I32", torch::kInt},       {"I64", torch::kLong},
      {"F16", torch::kHalf},  {"BF16", torch::kBFloat16}, {"F32", torch::kFloat},
      {"F64", torch::kDouble}};
  ASSERT_EQ(safetensors_dtype_names().size(), table.size());
  for (const auto& [name, type] : table) {
    EXPECT_EQ(safetensors_dtype(name), type) << name;
    EXPECT_EQ(safetensors_dtype_name(type), name) << name;
    EXPECT_EQ(safetensors_dtype_size(name), c10::elementSize(type)) << name;
  }
  EXPECT_NE(format_error_of([] { safetensors_dtype("U16"); }).find("'U16'"), std::string::npos);
  EXPECT_NE(format_error_of([] { safetensors_dtype_size("f32"); }).find("'f32'"),
            std::string::npos);
  EXPECT_THROW(safetensors_dtype_name(torch::kComplexDouble), UsageError);
}

}  // namespace
}  // namespace elarin
