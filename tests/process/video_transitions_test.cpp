// Every transition the `video` kind accepts, rendered through the real
// libavfilter graph and libx264, then decoded by ffmpeg: some frame inside the
// transition is neither image alone (a cut shows one or the other), so a type that
// FFmpeg silently ignored or that the plan spelled wrong would fail here.
#include <gtest/gtest.h>

#include <cmath>

#include "media/video/video_assembler.h"
#include "support/media_probe.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
using nlohmann::json;

namespace {

media::Image solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  media::Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  for (int i = 0; i < w * h; ++i) img.pixels.insert(img.pixels.end(), {r, g, b});
  return img;
}

double distance(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2]);
}

}  // namespace

TEST(VideoTransitions, EveryTypeRendersAndBlendsItsTwoImages) {
  TempWorkspace tw;
  const std::vector<media::Image> images = {solid(32, 32, 230, 20, 20), solid(32, 32, 20, 20, 230)};
  for (const std::string& type : media::transition_types()) {
    SCOPED_TRACE(type);
    media::AssembleRequest rq;
    rq.images = &images;
    rq.params = media::parse_video_params(json{{"aspects", {"32x32"}},
                                               {"fps", 10},
                                               {"seconds_per_image", 1},
                                               {"crf", 10},
                                               {"transition", {{"type", type}, {"seconds", 0.4}}}},
                                          images.size());
    rq.aspect = rq.params.aspects.at(0);
    rq.output = tw.dir() / (type + ".mp4");
    const media::AssembleResult r = media::assemble_video(rq);
    // 10 frames each; a transition overlaps 4 of them.
    const int64_t expected = type == "cut" ? 20 : 16;
    EXPECT_EQ(r.frames, expected);
    const auto frames = all_frames(rq.output, 32, 32);
    ASSERT_EQ(static_cast<int64_t>(frames.size()), expected);
    const auto a = mean_rgb(frames.front()), b = mean_rgb(frames.back());
    EXPECT_GT(a[0], 180);
    EXPECT_GT(b[2], 180);
    // The transition covers frames 6-9 (a cut: none); how a type moves differs,
    // so ask that some frame in it is neither image alone.
    double blended = 0;
    for (int64_t k = 6; k <= 9; ++k) {
      const auto m = mean_rgb(frames[static_cast<size_t>(k)]);
      blended = std::max(blended, std::min(distance(m, a), distance(m, b)));
    }
    if (type == "cut")
      EXPECT_LT(blended, 10) << "a cut shows one image or the other";
    else
      EXPECT_GT(blended, 15) << "no frame of the transition mixes the two images";
  }
}
