// One MP4 from still images: the frames of each image (fitted, moved by Ken
// Burns), in timeline order, through a small libavfilter graph per transition
// (xfade) and one for the text (drawtext); libx264 encodes them (yuv420p, BT.709,
// `preset`/`crf`), the native AAC encoder encodes the shaped audio track
// interleaved with them, and the MP4 muxer writes the moov atom first
// (faststart). Everything runs in this process.
//
// Invariants: each frame is made when it is encoded (memory: the fitted canvases
// and a few frames); outside transitions frames stay yuv420p end to end;
// progress is reported after every encoded frame and cancellation is checked
// before every frame; on any exception the partly written file is removed.
// AssembleResult::filtergraph is the equivalent single graph (filter_plan.h).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "media/png_io.h"
#include "media/video/audio_track.h"
#include "media/video/video_plan.h"

namespace atelier::media {

struct AssembleRequest {
  const std::vector<Image>* images = nullptr;  // decoded, in order
  VideoParams params;
  Aspect aspect;
  const AudioSamples* audio = nullptr;  // the source track, or none (silent video)
  std::string font_family = "Noto Sans CJK SC";
  std::filesystem::path output;  // .mp4
  std::function<void(int64_t frame, int64_t total)> progress;
  std::function<void()> check_cancelled;  // throws to stop
};

struct AssembleResult {
  int64_t frames = 0;
  double seconds = 0;
  bool audio = false;
  Image poster;             // RGB, the frame in the middle of the first image's own time
  std::string filtergraph;  // the graph, as an ffmpeg -filter_complex string (logs)
};

AssembleResult assemble_video(const AssembleRequest& request);

}  // namespace atelier::media
