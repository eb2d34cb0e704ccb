// Weights and checkpoint files: lookups record what was taken, shapes are
// checked with the name in the message, and pickle files are refused unread.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ml/sd/checkpoint_file.h"
#include "ml/sd/layers.h"
#include "sd_refs.h"

using namespace atelier::ml::sd;
namespace fs = std::filesystem;

TEST(SdWeights, TakenNamesAreRecordedAndTheRestReportedUnused) {
  Weights w(
      {{"a.weight", torch::ones({2, 3})}, {"a.bias", torch::zeros({2})}, {"b", torch::ones({1})}},
      "t.safetensors");
  Linear l = load_linear(w, "a.");
  EXPECT_EQ(l.out(), 2);
  EXPECT_EQ(w.unused(), std::vector<std::string>{"b"});
  try {
    w.take("a.weight", {3, 2});
    FAIL();
  } catch (const WeightError& e) {
    EXPECT_STREQ(e.what(), "t.safetensors: a.weight: expected shape [3, 2], found [2, 3]");
  }
  try {
    w.take("missing");
    FAIL();
  } catch (const WeightError& e) {
    EXPECT_STREQ(e.what(), "t.safetensors: missing tensor missing");
  }
}

// taken() hands back the tensors the components hold (same storage), and
// only those: a skipped buffer is used but not a parameter.
TEST(SdWeights, TakenSharesStorageAndLeavesSkippedBuffersOut) {
  Weights w(
      {{"a.weight", torch::ones({2, 3})}, {"a.bias", torch::zeros({2})}, {"ids", torch::ones({1})}},
      "t.safetensors");
  Linear l = load_linear(w, "a.");
  w.skip("ids");
  auto taken = w.taken();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_TRUE(w.unused().empty());
  taken.at("a.weight").add_(1);
  EXPECT_EQ(l.weight[0][0].item<float>(), 2.0f);
}

TEST(SdWeights, CountsIndexedBlocksFromNames) {
  auto w = Weights::from_shapes({{"x.blocks.0.w", {1}}, {"x.blocks.3.w", {1}}, {"x.blocksy", {1}}},
                                "inv");
  EXPECT_EQ(w.count_indexed("x.blocks."), 4);
  EXPECT_TRUE(w.is_meta());
  EXPECT_EQ(w.take("x.blocks.3.w").device(), torch::kMeta);
}

TEST(SdCheckpointFile, RefusesPickleFilesWithoutReadingThem) {
  const fs::path dir = fs::temp_directory_path() / ("sd-pickle-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "model.ckpt") << "PK\x03\x04 not a safetensors file";
  std::ofstream(dir / "renamed.safetensors", std::ios::binary) << "\x80\x02}q\x00.";
  for (const char* name : {"model.ckpt", "renamed.safetensors"}) {
    try {
      read_checkpoint(dir / name);
      FAIL() << name;
    } catch (const WeightError& e) {
      EXPECT_NE(
          std::string(e.what()).find((dir / name).string() + ": a pickle checkpoint is refused"),
          std::string::npos)
          << e.what();
    }
  }
  fs::remove_all(dir);
}

TEST(SdCheckpointFile, ReadsATinyCheckpointAndSaysItsPrecision) {
  SKIP_WITHOUT_SD_LAYOUTS();
  CheckpointFile f32 =
      read_checkpoint(atelier::test::sd::layouts_dir() / "tiny" / "tiny_sd15.safetensors");
  CheckpointFile f16 =
      read_checkpoint(atelier::test::sd::layouts_dir() / "tiny" / "tiny_sd15_fp16.safetensors");
  EXPECT_EQ(f32.dtype, "fp32");
  EXPECT_EQ(f16.dtype, "fp16");
  EXPECT_EQ(f16.metadata.at("arch"), "sd15");
  const std::string conv = "model.diffusion_model.input_blocks.0.0.weight";
  EXPECT_EQ(f16.weights.take(conv).scalar_type(), torch::kFloat32);
  EXPECT_EQ(f32.weights.shape(conv), f16.weights.shape(conv));
}
