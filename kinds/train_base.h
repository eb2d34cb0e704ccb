// The `train_base` kind's parameters: the base text-to-image model.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kinds/kind_decl.h"

namespace atelier {

struct TrainBaseParams {
  std::string name = "twemoji-base-32";
  std::string style = "twitter";
  int steps = 5000;
  int batch = 32;
  double lr = 1e-3;
  int64_t seed = 0;
  std::optional<std::vector<int>> channels;  // default: the model's [32, 64, 128]
  bool bf16_convs = false;
  int checkpoint_every = 200;
  int limit_images = 0;
};

const KindDecl<TrainBaseParams>& train_base_kind();

}  // namespace atelier
