// Family detection from tensor names, and what metadata says that shapes
// cannot (heads, prediction type), on the full-size key inventories and the
// tiny checkpoints of ../shared/external-refs/sd-layouts.
#include <gtest/gtest.h>

#include "ml/sd/checkpoint_file.h"
#include "ml/sd/sd_family.h"
#include "sd_refs.h"

using namespace atelier::ml::sd;
namespace ref = atelier::test::sd;

namespace {
Weights inventory(const std::string& file) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& r : ref::read_inventory(ref::layouts_dir() / file)) shapes[r.name] = r.shape;
  return Weights::from_shapes(shapes, file);
}
}  // namespace

TEST(SdFamily, FullSizeInventoriesAreToldApartByTheirNames) {
  SKIP_WITHOUT_SD_LAYOUTS();
  EXPECT_EQ(detect_family(inventory("sd15.json")), SdFamily::sd1);
  EXPECT_EQ(detect_family(inventory("sd21v.json")), SdFamily::sd2);
  EXPECT_EQ(detect_family(inventory("sdxl_base.json")), SdFamily::sdxl);
}

TEST(SdFamily, ALoraOrARefinerIsRefusedSayingWhatItIs) {
  auto lora =
      Weights::from_shapes({{"lora_unet_down_blocks_0.lora_up.weight", {4, 4}}}, "x.safetensors");
  try {
    detect_family(lora);
    FAIL();
  } catch (const WeightError& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "x.safetensors: not a Stable Diffusion 1.x, 2.x or SDXL checkpoint: found LoRA weights "
        "(lora_*), not a checkpoint");
  }
  auto refiner = Weights::from_shapes({{"model.diffusion_model.out.2.weight", {4, 384, 3, 3}},
                                       {"conditioner.embedders.0.model.ln_final.weight", {1280}}},
                                      "r.safetensors");
  EXPECT_THROW(detect_family(refiner), WeightError);
}

TEST(SdFamily, TinyCheckpointsSayTheirHeadsAndPrediction) {
  SKIP_WITHOUT_SD_LAYOUTS();
  auto hints = [](const char* f) {
    auto c = read_checkpoint(ref::layouts_dir() / "tiny" / f);
    return std::pair{detect_family(c.weights), read_hints(c.metadata, f)};
  };
  auto [f15, h15] = hints("tiny_sd15.safetensors");
  EXPECT_EQ(f15, SdFamily::sd1);
  EXPECT_EQ(h15.unet_heads, 2);
  EXPECT_FALSE(h15.unet_head_channels);
  EXPECT_EQ(h15.clip_l_heads, 4);
  EXPECT_FALSE(h15.prediction);
  EXPECT_DOUBLE_EQ(*h15.scale_factor, 0.18215);
  auto [f21, h21] = hints("tiny_sd21v_fp16.safetensors");
  EXPECT_EQ(f21, SdFamily::sd2);
  EXPECT_EQ(h21.prediction, Prediction::v);
  EXPECT_EQ(h21.unet_head_channels, 16);
  EXPECT_EQ(h21.open_clip_heads, 4);
  auto [fxl, hxl] = hints("tiny_sdxl.safetensors");
  EXPECT_EQ(fxl, SdFamily::sdxl);
  EXPECT_EQ(hxl.unet_head_channels, 16);
  EXPECT_EQ(hxl.clip_l_heads, 4);
  EXPECT_EQ(hxl.open_clip_heads, 3);
  EXPECT_DOUBLE_EQ(*hxl.scale_factor, 0.13025);
}

TEST(SdFamily, ModelspecPredictionWinsAndBadValuesNameTheKey) {
  auto h = read_hints({{"modelspec.prediction_type", "v"}}, "m.safetensors");
  EXPECT_EQ(h.prediction, Prediction::v);
  try {
    read_hints({{"modelspec.prediction_type", "x0"}}, "m.safetensors");
    FAIL();
  } catch (const WeightError& e) {
    EXPECT_EQ(std::string(e.what()),
              "m.safetensors: metadata 'modelspec.prediction_type' is 'x0', expected epsilon or v");
  }
  EXPECT_THROW(read_hints({{"config", "{not json"}}, "m.safetensors"), WeightError);
}

TEST(SdFamily, OldClipNamesAreRenamedToTodaysLayout) {
  std::map<std::string, torch::Tensor> t{
      {"cond_stage_model.transformer.embeddings.token_embedding.weight", torch::zeros({1})},
      {"model.diffusion_model.out.2.weight", torch::zeros({1})}};
  auto n = normalise_names(std::move(t));
  EXPECT_TRUE(n.count("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"));
  EXPECT_TRUE(n.count("model.diffusion_model.out.2.weight"));
  // The same renaming for a header's shapes (`atelier model add` reads no data).
  auto shapes = normalise_names(std::map<std::string, std::vector<int64_t>>{
      {"cond_stage_model.transformer.final_layer_norm.weight", {768}}});
  EXPECT_TRUE(shapes.count("cond_stage_model.transformer.text_model.final_layer_norm.weight"));
}
