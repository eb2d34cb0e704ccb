// The `train_lora` kind's parameters: a LoRA adapter for a base model.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kinds/kind_decl.h"

namespace atelier {

struct TrainLoraParams {
  nlohmann::json images = nullptr;           // default: the inputs
  nlohmann::json model = "twemoji-base-32";  // name, path, sha256 or a resolved ${stage.model}
  std::optional<std::string> name;           // default lora-j<job id>
  int rank = 8;
  std::optional<double> alpha;  // default: rank
  int steps = 400;
  double lr = 1e-3;
  int batch = 8;
  std::string trigger;
  double caption_dropout = 0.05;
  bool shuffle_tags = false;
  int keep_tags = 1;
  int checkpoint_every = 50;
  bool conv = false;
  int64_t seed = 0;
};

const KindDecl<TrainLoraParams>& train_lora_kind();

}  // namespace atelier
