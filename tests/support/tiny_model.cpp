// Tiny model files for tests; see tiny_model.h.
#include "support/tiny_model.h"

#include <torch/torch.h>

#include "ml/captioner.h"
#include "ml/diffusion_model.h"
#include "ml/emoji_dataset.h"

namespace atelier::test {

std::filesystem::path write_tiny_model(const std::filesystem::path& dir, const std::string& name) {
  torch::manual_seed(7);
  ml::ModelConfig c;
  c.channels = {8, 16};
  c.attention = {false, true};
  c.self_attention = {false, true};
  c.heads = 2;
  c.time_dim = 16;
  c.text_dim = 16;
  c.text_heads = 2;
  c.text_layers = 1;
  c.max_tokens = 8;
  c.image_size = 16;
  ml::DiffusionModel m(c, ml::Tokenizer({"red", "apple", "grinning", "face", "flag"}));
  // The zero-initialised output layers would make every image flat; give them weights.
  {
    torch::NoGradGuard g;
    for (auto& p : m->named_parameters())
      if (p.key().find("conv_out") != std::string::npos ||
          p.key().find("proj_out") != std::string::npos ||
          p.key().find("conv2") != std::string::npos)
        p.value().normal_(0, 0.1);
  }
  std::filesystem::create_directories(dir);
  auto path = dir / (name + ".safetensors");
  ml::save_model(path, m, {{"atelier.name", name}});
  return path;
}

std::filesystem::path write_tiny_captioner(const std::filesystem::path& dir,
                                           const std::string& name) {
  torch::manual_seed(8);
  ml::CaptionerConfig c;
  c.width = 2;
  c.categories = ml::emoji_categories();
  c.tags = {"red", "apple", "face", "grinning", "flag"};
  c.names = {"red apple", "grinning face", "japan flag"};
  ml::Captioner m(c);
  std::filesystem::create_directories(dir);
  auto path = dir / (name + ".safetensors");
  ml::save_captioner(path, m, {{"atelier.name", name}});
  return path;
}

}  // namespace atelier::test
