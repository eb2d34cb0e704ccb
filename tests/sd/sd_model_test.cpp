// Whole checkpoints: every key of the full-size SD 1.5, 2.1-768-v and SDXL
// base inventories is taken by some component (buffers skipped by name), a
// key nothing wants fails the load naming it, and the tiny checkpoints load
// with what their metadata says.
#include <gtest/gtest.h>

#include "ml/sd/sd_model.h"
#include "sd_refs.h"

using namespace atelier::ml::sd;
namespace ref = atelier::test::sd;

namespace {
std::map<std::string, std::vector<int64_t>> inventory(const std::string& file) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& r : ref::read_inventory(ref::layouts_dir() / file)) shapes[r.name] = r.shape;
  return shapes;
}
}  // namespace

TEST(SdModel, EveryKeyOfTheFullSizeInventoriesIsTaken) {
  SKIP_WITHOUT_SD_LAYOUTS();
  struct Case {
    const char* file;
    SdFamily family;
    int64_t context;
  };
  for (const Case& c :
       {Case{"sd15.json", SdFamily::sd1, 768}, Case{"sd21v.json", SdFamily::sd2, 1024},
        Case{"sdxl_base.json", SdFamily::sdxl, 2048}}) {
    SCOPED_TRACE(c.file);
    Weights w = Weights::from_shapes(inventory(c.file), c.file);
    SdModel m = build_sd_model(w, {});
    EXPECT_EQ(m.family, c.family);
    EXPECT_TRUE(w.unused().empty());
    EXPECT_EQ(m.unet->config().context_dim, c.context);
    EXPECT_EQ(m.vae_factor(), 8);
    EXPECT_EQ(m.prediction, Prediction::epsilon);
    EXPECT_EQ(m.prediction_source, "default");
    // Only SD 2.x cannot be told epsilon from v by its shapes.
    EXPECT_EQ(m.warnings.size(), c.family == SdFamily::sd2 ? 1u : 0u);
    EXPECT_DOUBLE_EQ(m.scale_factor, c.family == SdFamily::sdxl ? 0.13025 : 0.18215);
  }
}

TEST(SdModel, AKeyNoComponentWantsFailsTheLoadNamingIt) {
  SKIP_WITHOUT_SD_LAYOUTS();
  auto shapes = inventory("sd15.json");
  shapes["model.diffusion_model.extra_head.weight"] = {4};
  shapes["something.else"] = {1};
  Weights w = Weights::from_shapes(shapes, "odd.safetensors");
  try {
    build_sd_model(w, {});
    FAIL();
  } catch (const WeightError& e) {
    EXPECT_EQ(std::string(e.what()),
              "odd.safetensors: 2 tensor(s) fit no part of the model this loader knows: "
              "model.diffusion_model.extra_head.weight, something.else");
  }
}

TEST(SdModel, TheParameterDecidesPredictionOnlyWhereTheFileIsSilent) {
  SKIP_WITHOUT_SD_LAYOUTS();
  Weights w = Weights::from_shapes(inventory("sd21v.json"), "sd21v.json");
  SdModel m = build_sd_model(w, {}, {.prediction = Prediction::v});
  EXPECT_EQ(m.prediction, Prediction::v);
  EXPECT_EQ(m.prediction_source, "parameter");
  EXPECT_TRUE(m.warnings.empty());
  auto tiny = load_sd_model(ref::layouts_dir() / "tiny" / "tiny_sd21v.safetensors",
                            {.prediction = Prediction::epsilon});
  EXPECT_EQ(tiny->prediction, Prediction::v);  // its config says parameterization: v
  EXPECT_EQ(tiny->prediction_source, "metadata");
  EXPECT_EQ(tiny->weights_dtype, "fp32");
  EXPECT_EQ(tiny->unet->config().head_channels, 16);
}

TEST(SdModel, TinyCheckpointsLoadWithTheHeadsTheirMetadataGives) {
  SKIP_WITHOUT_SD_LAYOUTS();
  auto m15 = load_sd_model(ref::layouts_dir() / "tiny" / "tiny_sd15_fp16.safetensors");
  EXPECT_EQ(m15->family, SdFamily::sd1);
  EXPECT_EQ(m15->weights_dtype, "fp16");
  EXPECT_EQ(m15->unet->config().num_heads, 2);
  EXPECT_EQ(m15->te_l->config().heads, 4);
  EXPECT_EQ(m15->vae_factor(), 2);
  auto xl = load_sd_model(ref::layouts_dir() / "tiny" / "tiny_sdxl.safetensors");
  EXPECT_EQ(xl->family, SdFamily::sdxl);
  EXPECT_EQ(xl->te_g->config().heads, 3);
  EXPECT_DOUBLE_EQ(xl->scale_factor, 0.13025);
}
