// The `caption` kind's parameters: kohya-style captions for images.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kinds/kind_decl.h"

namespace atelier {

struct CaptionParams {
  nlohmann::json images = nullptr;  // default: the inputs
  std::string trigger;
  nlohmann::json captioner = "emoji-captioner-32";
  int tags = 3;
  bool use_sidecars = true;
  std::optional<std::string> export_dir;
};

const KindDecl<CaptionParams>& caption_kind();

}  // namespace atelier
