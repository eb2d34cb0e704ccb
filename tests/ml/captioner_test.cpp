// The captioner: name words, a short training run on the real Twemoji set that
// resumes from its epoch checkpoint with the weights of an uninterrupted run,
// strict file round trip, captions drawn from the label lists, and fitting
// arbitrary user images (any size, gray, alpha) to the model's input.
// Needs the datasets (scripts/fetch_datasets.sh, run by scripts/test.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "media/image_decode.h"
#include "media/png_io.h"
#include "ml/base_trainer.h"
#include "ml/captioner.h"
#include "ml/captioner_trainer.h"
#include "ml/image_tensor.h"
#include "ml/safetensors.h"
#include "ml/tensor_io.h"

using namespace atelier;
using namespace atelier::ml;
namespace fs = std::filesystem;

namespace {
TrainCaptionerOptions tiny(const fs::path& dir, const std::string& name) {
  TrainCaptionerOptions o;
  o.width = 4;
  o.epochs = 3;
  o.samples_per_epoch = 32;
  o.batch = 16;
  o.limit_images = 60;
  o.threads = 1;
  o.seed = 2;
  o.output = dir / (name + ".safetensors");
  o.checkpoint_dir = dir / (name + ".ckpt");
  return o;
}
}  // namespace

TEST(Captioner, NameWordsDropStopWordsAndPunctuation) {
  EXPECT_EQ(name_words("grinning face with big eyes"),
            (std::vector<std::string>{"grinning", "face", "big", "eyes"}));
  EXPECT_EQ(name_words("waving hand sign: medium skin tone"),
            (std::vector<std::string>{"waving", "hand", "sign", "medium", "skin", "tone"}));
  EXPECT_EQ(name_words("man in business suit levitating"),
            (std::vector<std::string>{"man", "business", "suit", "levitating"}));
  EXPECT_EQ(name_words("face face, FACE"), std::vector<std::string>{"face"});
}

TEST(Captioner, ConfigNameCategoriesAreCheckedAndOptional) {
  nlohmann::json j = {{"image_size", 32},
                      {"width", 4},
                      {"categories", {"Flags", "Objects"}},
                      {"tags", {"flag"}},
                      {"names", {"flag: france", "lock"}}};
  EXPECT_TRUE(CaptionerConfig::from_json(j).name_categories.empty()) << "older files have none";
  j["name_categories"] = {0, 1};
  EXPECT_EQ(CaptionerConfig::from_json(j).name_categories, (std::vector<int>{0, 1}));
  EXPECT_EQ(CaptionerConfig::from_json(CaptionerConfig::from_json(j).to_json()).name_categories,
            (std::vector<int>{0, 1}));
  j["name_categories"] = {0};
  EXPECT_THROW(CaptionerConfig::from_json(j), std::invalid_argument) << "one per name";
  j["name_categories"] = {0, 2};
  EXPECT_THROW(CaptionerConfig::from_json(j), std::invalid_argument) << "index out of range";
  // Category evidence from names: a model whose name head is sure of "lock" says Objects.
  j["name_categories"] = {0, 1};
  Captioner m(CaptionerConfig::from_json(j));
  for (auto& p : m->named_parameters()) p.value().data().zero_();
  m->name_head->bias.data().copy_(torch::tensor({-20.f, 20.f}));
  m->category_head->bias.data().copy_(torch::tensor({0.f, 0.f}));
  const auto sc = score_images(m, torch::zeros({1, 3, 32, 32}));
  EXPECT_NEAR(sc.category[0][1].item<double>(), 0.75, 1e-4);
  EXPECT_NEAR(sc.tags[0][0].item<double>(), 0.25, 1e-4) << "'flag' only in the unlikely name";
}

TEST(Captioner, TrainsResumesExactlyAndRoundTrips) {
  ASSERT_TRUE(fs::exists(emoji_package_dir("twitter") / "emoji.json"))
      << "datasets missing: run scripts/fetch_datasets.sh";
  auto dir = fs::temp_directory_path() / ("atelier-captioner-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto whole = train_captioner(tiny(dir, "whole"), {});
  EXPECT_EQ(whole.images, 60);
  EXPECT_GT(whole.tags, 0);
  ASSERT_FALSE(whole.evals.empty());  // held-out Twemoji (and Noto when present)
  EXPECT_GT(whole.evals[0].images, 100);

  auto o = tiny(dir, "resumed");
  int polls = 0;
  // 2 steps per epoch: the 4th poll is in epoch 2, which restarts from its beginning
  EXPECT_THROW(train_captioner(o, {}, [&] { return ++polls == 4; }), TrainingInterrupted);
  auto ck = SafetensorsFile::read(o.checkpoint_dir / "checkpoint.safetensors");
  EXPECT_EQ(ck.metadata().at("atelier.checkpoint_epoch"), "1");
  std::vector<CaptionerProgress> seen;
  train_captioner(o, [&](const CaptionerProgress& p) { seen.push_back(p); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].resumed);
  EXPECT_EQ(seen[0].epoch, 2);

  auto a = load_captioner(dir / "whole.safetensors");
  auto b = load_captioner(dir / "resumed.safetensors");
  auto pb = b.model->named_parameters();
  for (const auto& p : a.model->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  auto bb = b.model->named_buffers();
  for (const auto& p : a.model->named_buffers())
    EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
  EXPECT_EQ(a.metadata.at("atelier.format"), kCaptionerFormat);
  EXPECT_TRUE(nlohmann::json::parse(a.metadata.at("atelier.evaluation")).is_array());

  // Captions come from the model's own label lists.
  auto recs = load_emoji_records(emoji_package_dir("twitter"), "twitter");
  std::vector<torch::Tensor> imgs;
  for (int i = 0; i < 3; ++i) imgs.push_back(load_image_tensor(recs[i].image, 32));
  auto caps = caption_images(a.model, torch::stack(imgs), 5);
  ASSERT_EQ(caps.size(), 3u);
  const auto& c = a.model->config;
  for (const auto& cap : caps) {
    EXPECT_NE(std::find(c.names.begin(), c.names.end(), cap.sentence), c.names.end());
    EXPECT_NE(std::find(c.categories.begin(), c.categories.end(), cap.category),
              c.categories.end());
    ASSERT_FALSE(cap.tags.empty());
    EXPECT_LE(cap.tags.size(), 5u);
    for (size_t k = 1; k < cap.tags.size(); ++k)
      EXPECT_GE(cap.tags[k - 1].second, cap.tags[k].second);
  }

  // Strict loading: a stray tensor or a missing one is refused by name.
  NamedTensors t;
  for (auto& p : a.model->named_parameters()) t.emplace_back(p.key(), p.value());
  for (auto& p : a.model->named_buffers()) t.emplace_back(p.key(), p.value());
  t.emplace_back("extra", torch::zeros({1}));
  auto md = a.metadata;
  save_tensors(dir / "stray.safetensors", t, md);
  try {
    load_captioner(dir / "stray.safetensors");
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'extra' is not part of the captioner"),
              std::string::npos);
  }
  t.pop_back();
  t.erase(t.begin());
  save_tensors(dir / "missing.safetensors", t, md);
  EXPECT_THROW(load_captioner(dir / "missing.safetensors"), FormatError);
  fs::remove_all(dir);
}

TEST(FitImage, AnySizeGrayOrAlphaBecomesAWhitePaddedSquare) {
  media::Image wide;
  wide.width = 40;
  wide.height = 20;
  wide.channels = 1;
  wide.pixels.assign(40 * 20, 0);  // black
  auto t = fit_image_tensor(wide, 16);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{3, 16, 16}));
  EXPECT_NEAR(t[0][0][8].item<float>(), 1.0f, 1e-5);   // padding above: white
  EXPECT_NEAR(t[1][8][8].item<float>(), -1.0f, 1e-5);  // the image: black
  EXPECT_NEAR(t[2][15][8].item<float>(), 1.0f, 1e-5);  // padding below: white

  media::Image clear;
  clear.width = clear.height = 8;
  clear.channels = 4;
  clear.pixels.assign(8 * 8 * 4, 0);     // fully transparent black
  auto u = fit_image_tensor(clear, 32);  // upscaled
  EXPECT_EQ(u.size(1), 32);
  EXPECT_NEAR(u.min().item<float>(), 1.0f, 1e-5);  // over white
}

TEST(ImageDecode, ReadsPngAndOtherFormatsAndNamesTheFileWhenCorrupt) {
  auto dir = fs::temp_directory_path() / ("atelier-decode-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  media::Image img;
  img.width = 5;
  img.height = 3;
  img.channels = 3;
  img.pixels.assign(5 * 3 * 3, 200);
  media::write_png(dir / "a.png", img);
  auto back = media::read_image(dir / "a.png");
  EXPECT_EQ(back.channels, 4);
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.pixels[0], 200);
  EXPECT_EQ(back.pixels[3], 255);
  // A binary PGM (one of OpenCV's formats), gray -> RGBA.
  {
    std::ofstream f(dir / "b.pgm", std::ios::binary);
    f << "P5\n2 2\n255\n";
    f.put(static_cast<char>(10))
        .put(static_cast<char>(20))
        .put(static_cast<char>(30))
        .put(static_cast<char>(40));
  }
  auto pgm = media::read_image(dir / "b.pgm");
  EXPECT_EQ(pgm.width, 2);
  EXPECT_EQ(pgm.channels, 4);
  EXPECT_EQ(pgm.pixels[4], 20);
  {
    std::ofstream f(dir / "c.jpg", std::ios::binary);
    f << "\xff\xd8\xff\xe0 this is not really a jpeg";
  }
  try {
    media::read_image(dir / "c.jpg");
    ADD_FAILURE();
  } catch (const media::ImageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir / "c.jpg").string(), 0), 0u) << e.what();
  }
  fs::remove_all(dir);
}
