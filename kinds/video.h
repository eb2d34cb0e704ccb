// The `video` kind's parameters: MP4 ads from images, text and audio. The
// nested values (aspects, ken_burns, transition, styles) are shaped and checked
// by media/video/video_plan.cpp, which takes its scalar bounds and defaults
// from this declaration.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kinds/kind_decl.h"

namespace atelier {

struct VideoKindParams {
  nlohmann::json images = nullptr;  // default: the inputs
  nlohmann::json aspects = nlohmann::json::array({"16:9", "9:16", "1:1"});
  int fps = 30;
  double seconds_per_image = 3;
  std::string fit = "cover";
  std::string background = "white";
  nlohmann::json ken_burns = nullptr;
  nlohmann::json transition = nullptr;
  std::optional<std::string> title, subtitle, cta;
  nlohmann::json title_style = nullptr, subtitle_style = nullptr, cta_style = nullptr;
  nlohmann::json captions = nullptr;
  nlohmann::json caption_style = nullptr;
  nlohmann::json audio = nullptr;
  double audio_volume = 1;
  double audio_fade_out = 1;
  std::string preset = "veryfast";
  int crf = 23;
};

const KindDecl<VideoKindParams>& video_kind();

}  // namespace atelier
