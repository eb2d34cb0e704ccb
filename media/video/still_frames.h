// Still images onto the frame: fitting a decoded image to an aspect's canvas
// (cover, contain, contain over a blurred cover) and the Ken Burns window of each
// frame, sub-pixel exact (bilinear warp), so slow zooms do not jitter the way
// integer crop positions do.
//
// Invariant: every Mat here is 8-bit RGB (CV_8UC3), continuous.
#pragma once
#include <opencv2/core.hpp>

#include "media/png_io.h"
#include "media/video/video_plan.h"

namespace atelier::media {

// The image (RGBA or RGB) over `background`, fitted to canvas_w x canvas_h.
cv::Mat fit_to_canvas(const Image& image, int canvas_w, int canvas_h, Fit fit, Rgb background);

// The frame-sized view of `canvas` through `window` (ken_burns_window); `out` is
// reused between frames.
void render_window(const cv::Mat& canvas, const Window& window, int width, int height,
                   cv::Mat& out);

}  // namespace atelier::media
