// The random-weight checkpoint generator against the real layouts: the full
// sizes against the reference inventories, the tiny sizes against the tiny
// reference files (names, shapes, dtypes, schedule values, what their metadata
// says), a round trip through read_checkpoint, and the test tokenizer folder.
#include "sd/tiny_checkpoint.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ml/safetensors.h"
#include "ml/sd/checkpoint_file.h"
#include "ml/sd/sd_family.h"
#include "sd_refs.h"

namespace fs = std::filesystem;
namespace ml = atelier::ml;
using namespace atelier::test::sd;
using Shapes = std::map<std::string, std::vector<int64_t>>;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() /
           ("atelier_tiny_sd_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

Shapes as_map(const ShapeList& l) {
  Shapes m;
  for (const auto& [name, shape] : l) EXPECT_TRUE(m.emplace(name, shape).second) << name;
  return m;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Every difference, so a failure says what to fix.
void expect_same_shapes(const Shapes& want, const Shapes& got, const std::string& what) {
  int missing = 0, extra = 0, wrong = 0;
  for (const auto& [name, shape] : want) {
    auto it = got.find(name);
    if (it == got.end()) {
      ADD_FAILURE() << what << ": missing " << name << " " << shape_str(shape);
      ++missing;
    } else if (it->second != shape) {
      ADD_FAILURE() << what << ": " << name << " is " << shape_str(it->second) << ", expected "
                    << shape_str(shape);
      ++wrong;
    }
  }
  for (const auto& [name, shape] : got)
    if (!want.count(name)) {
      ADD_FAILURE() << what << ": unexpected " << name << " " << shape_str(shape);
      ++extra;
    }
  EXPECT_EQ(missing + extra + wrong, 0) << what;
  EXPECT_EQ(want.size(), got.size()) << what;
}

Shapes header_shapes(const ml::SafetensorsFile& f) {
  Shapes m;
  for (const auto& t : f.tensors()) m[t.name] = t.shape;
  return m;
}

struct Case {
  TinyFamily family;
  const char* inventory;
  const char* tiny;
};
const Case kCases[] = {{TinyFamily::sd1, "sd15.json", "tiny_sd15"},
                       {TinyFamily::sd2, "sd21v.json", "tiny_sd21v"},
                       {TinyFamily::sdxl, "sdxl_base.json", "tiny_sdxl"}};

std::vector<float> floats(const ml::SafetensorsFile& f, const std::string& name) {
  const ml::TensorInfo* t = f.find(name);
  if (!t) throw std::runtime_error("no tensor " + name);
  auto bytes = f.data(*t);
  std::vector<float> out;
  for (size_t i = 0; i < bytes.size(); i += ml::dtype_size(t->dtype)) {
    if (t->dtype == ml::DType::F32) {
      float v;
      std::memcpy(&v, bytes.data() + i, 4);
      out.push_back(v);
    } else {
      uint16_t h;
      std::memcpy(&h, bytes.data() + i, 2);
      out.push_back(ml::half_to_float(h));
    }
  }
  return out;
}

}  // namespace

TEST(TinyCheckpoint, FullSizeShapesAreTheReferenceInventories) {
  SKIP_WITHOUT_SD_LAYOUTS();
  for (const auto& c : kCases) {
    Shapes want;
    for (const auto& r : read_inventory(layouts_dir() / c.inventory)) want[r.name] = r.shape;
    expect_same_shapes(want, as_map(sd_checkpoint_shapes(full_size(c.family))), c.inventory);
  }
}

TEST(TinyCheckpoint, TinyShapesAreTheTinyReferenceFiles) {
  SKIP_WITHOUT_SD_LAYOUTS();
  for (const auto& c : kCases) {
    auto ref =
        ml::SafetensorsFile::read(layouts_dir() / "tiny" / (std::string(c.tiny) + ".safetensors"));
    expect_same_shapes(header_shapes(ref), as_map(sd_checkpoint_shapes(tiny(c.family))), c.tiny);
  }
}

// Written files hold the reference files' dtypes (F32 or F16 floats, I64
// position_ids, I32 EMA counter), their schedule tables, and metadata that
// tells the loader the same heads, prediction and schedule ends.
TEST(TinyCheckpoint, WrittenTinyFilesMatchTheReferencesDtypesSchedulesAndHints) {
  SKIP_WITHOUT_SD_LAYOUTS();
  TempDir tmp;
  for (const auto& c : kCases) {
    for (auto [dtype, suffix] :
         {std::pair{ml::DType::F32, ""}, std::pair{ml::DType::F16, "_fp16"}}) {
      std::string name = std::string(c.tiny) + suffix;
      auto ref = ml::SafetensorsFile::read(layouts_dir() / "tiny" / (name + ".safetensors"));
      fs::path out = tmp.path / (name + ".safetensors");
      write_sd_checkpoint(out, tiny(c.family), 7, dtype);
      auto got = ml::SafetensorsFile::read(out);
      ASSERT_EQ(got.tensors().size(), ref.tensors().size()) << name;
      for (const auto& t : ref.tensors()) {
        const ml::TensorInfo* g = got.find(t.name);
        ASSERT_NE(g, nullptr) << name << ": " << t.name;
        EXPECT_EQ(g->dtype, t.dtype) << name << ": " << t.name;
        EXPECT_EQ(g->shape, t.shape) << name << ": " << t.name;
      }
      // Schedule tables: computed as the upstream code does.
      int tables = 0;
      for (const auto& t : ref.tensors()) {
        bool table = t.shape == std::vector<int64_t>{1000} && t.name.find('.') == std::string::npos;
        if (!table && t.name != "denoiser.sigmas") continue;
        auto want = floats(ref, t.name), have = floats(got, t.name);
        double worst = 0;
        for (size_t i = 0; i < want.size(); ++i)
          worst = std::max(worst, std::abs(double(want[i]) - have[i]) /
                                      std::max(1e-6, std::abs(double(want[i]))));
        EXPECT_LT(worst, dtype == ml::DType::F32 ? 1e-5 : 1e-3) << name << ": " << t.name;
        ++tables;
      }
      EXPECT_EQ(tables, c.family == TinyFamily::sdxl ? 1 : 12) << name;
      auto want = atelier::ml::sd::read_hints(ref.metadata(), name);
      auto have = atelier::ml::sd::read_hints(got.metadata(), name);
      if (dtype == ml::DType::F32) {        // the fp16 references carry no config
        using atelier::ml::sd::Prediction;  // the references leave epsilon unsaid
        EXPECT_EQ(have.prediction, want.prediction.value_or(Prediction::epsilon)) << name;
        EXPECT_EQ(have.unet_heads, want.unet_heads) << name;
        EXPECT_EQ(have.unet_head_channels, want.unet_head_channels) << name;
        EXPECT_EQ(have.beta_start, want.beta_start) << name;
        EXPECT_EQ(have.beta_end, want.beta_end) << name;
        EXPECT_EQ(have.scale_factor, want.scale_factor) << name;
      }
      EXPECT_EQ(have.clip_l_heads, want.clip_l_heads) << name;
      EXPECT_EQ(have.open_clip_heads, want.open_clip_heads) << name;
    }
  }
}

TEST(TinyCheckpoint, RoundTripsThroughReadCheckpointInF32AndF16) {
  TempDir tmp;
  auto cfg = tiny(TinyFamily::sd1);
  auto shapes = as_map(sd_checkpoint_shapes(cfg));
  fs::path f32 = tmp.path / "a.safetensors", f16 = tmp.path / "b.safetensors";
  write_sd_checkpoint(f32, cfg, 42, ml::DType::F32, {{"note", "made by a test"}});
  write_sd_checkpoint(f16, cfg, 42, ml::DType::F16);

  auto a = atelier::ml::sd::read_checkpoint(f32);
  auto b = atelier::ml::sd::read_checkpoint(f16);
  EXPECT_EQ(a.dtype, "fp32");
  EXPECT_EQ(b.dtype, "fp16");
  for (auto* ck : {&a, &b}) {
    EXPECT_EQ(ck->weights.names_under("").size(), shapes.size());
    for (const auto& [name, shape] : shapes) EXPECT_EQ(ck->weights.shape(name), shape) << name;
    EXPECT_EQ(atelier::ml::sd::detect_family(ck->weights), atelier::ml::sd::SdFamily::sd1);
    auto hints = atelier::ml::sd::read_hints(ck->metadata, "tiny");
    EXPECT_EQ(hints.unet_heads, 2);
    EXPECT_EQ(hints.clip_l_heads, 4);
    EXPECT_EQ(hints.prediction, atelier::ml::sd::Prediction::epsilon);
  }
  write_sd_checkpoint(tmp.path / "c.safetensors", cfg, 42, ml::DType::BF16);
  EXPECT_EQ(atelier::ml::sd::read_checkpoint(tmp.path / "c.safetensors").dtype, "bf16");
  EXPECT_THROW(write_sd_checkpoint(tmp.path / "d.safetensors", cfg, 42, ml::DType::I8),
               std::invalid_argument);
  EXPECT_EQ(a.metadata.at("note"), "made by a test");
  EXPECT_EQ(a.metadata.at("config"), b.metadata.at("config"));
  EXPECT_FALSE(b.metadata.count("note"));

  const std::string ids = "cond_stage_model.transformer.text_model.embeddings.position_ids";
  auto pos = b.weights.take(ids);
  EXPECT_EQ(pos.scalar_type(), torch::kInt64);
  EXPECT_TRUE(pos.equal(torch::arange(77, torch::kInt64).unsqueeze(0)));

  // The same draws, rounded to half: F16 is F32 within half precision.
  const std::string w =
      "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight";
  auto wa = a.weights.take(w), wb = b.weights.take(w);
  EXPECT_EQ(wb.scalar_type(), torch::kFloat32);
  EXPECT_LT((wa - wb).abs().max().item<float>(), 1e-3f);
  // Not trivial: about 1/sqrt(fan_in) spread, and not all alike.
  float sd = wa.std().item<float>();
  EXPECT_NEAR(sd, 1.0 / std::sqrt(32.0), 0.03);
  auto norm = a.weights.take("model.diffusion_model.out.0.weight");
  EXPECT_NEAR(norm.mean().item<float>(), 1.0f, 0.05f);
  EXPECT_GT(norm.std().item<float>(), 0.01f);
}

TEST(TinyCheckpoint, TheSameSeedGivesTheSameBytesAndAnotherSeedOthers) {
  TempDir tmp;
  auto cfg = tiny(TinyFamily::sdxl);
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  write_sd_checkpoint(tmp.path / "a", cfg, 1);
  write_sd_checkpoint(tmp.path / "b", cfg, 1);
  write_sd_checkpoint(tmp.path / "c", cfg, 2);
  EXPECT_EQ(read(tmp.path / "a"), read(tmp.path / "b"));
  EXPECT_NE(read(tmp.path / "a"), read(tmp.path / "c"));
  // Each tensor draws on its own: two weights of one shape differ.
  auto f = ml::SafetensorsFile::read(tmp.path / "a");
  const std::string p = "model.diffusion_model.input_blocks.3.1.transformer_blocks.0.attn1.";
  EXPECT_NE(floats(f, p + "to_q.weight"), floats(f, p + "to_k.weight"));
}

TEST(TinyCheckpoint, DerivedSizesFollowTheTextEncoders) {
  EXPECT_EQ(full_size(TinyFamily::sd1).context_dim(), 768);
  EXPECT_EQ(full_size(TinyFamily::sd2).context_dim(), 1024);
  EXPECT_EQ(full_size(TinyFamily::sdxl).context_dim(), 2048);
  EXPECT_EQ(full_size(TinyFamily::sdxl).adm_in_channels(), 2816);
  EXPECT_EQ(tiny(TinyFamily::sdxl).context_dim(), 80);
  EXPECT_EQ(tiny(TinyFamily::sdxl).adm_in_channels(), 1576);
  EXPECT_EQ(full_size(TinyFamily::sd1).vae_downscale(), 8);
  EXPECT_EQ(tiny(TinyFamily::sd1).vae_downscale(), 2);
  auto bad = tiny(TinyFamily::sd1);
  bad.transformer_depth = {1};
  EXPECT_THROW(sd_checkpoint_shapes(bad), std::invalid_argument);
  bad = tiny(TinyFamily::sd2);
  bad.num_head_channels = 24;
  EXPECT_THROW(sd_checkpoint_shapes(bad), std::invalid_argument);
}

// The folder as CLIP's Hugging Face tokenizer files lay it out: bytes, bytes
// with </w>, merges whose parts and results are all in the vocabulary, the
// special tokens last.
TEST(TinyCheckpoint, TestTokenizerFolderHasClipsLayout) {
  TempDir tmp;
  write_test_tokenizer(tmp.path, 1000);
  nlohmann::json vocab;
  std::ifstream(tmp.path / "vocab.json") >> vocab;
  ASSERT_EQ(vocab.size(), 1000u);
  std::vector<std::string> by_id(1000);
  for (auto& [tok, id] : vocab.items()) {
    ASSERT_TRUE(id.is_number_integer());
    int i = id.get<int>();
    ASSERT_TRUE(i >= 0 && i < 1000) << tok;
    ASSERT_TRUE(by_id[i].empty()) << "id " << i << " twice";
    by_id[i] = tok;
  }
  EXPECT_EQ(by_id[0], "!");
  EXPECT_EQ(by_id[93], "~");
  EXPECT_EQ(by_id[94], "\xc2\xa1");   // U+00A1, the next printable byte
  EXPECT_EQ(by_id[188], "\xc4\x80");  // U+0100: byte 0
  EXPECT_EQ(by_id[256], "!</w>");
  EXPECT_EQ(vocab.at("a</w>"), 256 + 64);  // 'a' is byte 0x61: id 0x61 - 0x21
  EXPECT_EQ(by_id[998], "<|startoftext|>");
  EXPECT_EQ(by_id[999], "<|endoftext|>");

  std::ifstream merges(tmp.path / "merges.txt");
  std::string line;
  std::getline(merges, line);
  EXPECT_EQ(line.rfind("#version", 0), 0u);
  int rank = 0;
  while (std::getline(merges, line)) {
    auto space = line.find(' ');
    ASSERT_NE(space, std::string::npos) << line;
    std::string l = line.substr(0, space), r = line.substr(space + 1);
    ASSERT_TRUE(vocab.contains(l) && vocab.contains(r)) << line;
    ASSERT_EQ(vocab.at(l + r), 512 + rank) << line;  // merge results in rank order
    ++rank;
  }
  EXPECT_EQ(rank, 1000 - 514);
  EXPECT_TRUE(vocab.contains("the</w>"));
  EXPECT_TRUE(vocab.contains("photo</w>"));
  EXPECT_THROW(write_test_tokenizer(tmp.path / "x", 513), std::invalid_argument);
}
