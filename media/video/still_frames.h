// Still images onto the frame: fitting a decoded image to an aspect's canvas
// (cover, contain, contain over a blurred cover) and the Ken Burns window of each
// frame, sub-pixel exact (bilinear warp), so slow zooms do not jitter the way
// integer crop positions do.
//
// Invariant: canvases are 8-bit RGB (CV_8UC3), continuous; planar frames are
// yuv420p as three 8-bit planes (Y full size, U and V half size each way, chroma
// co-sited with the even luma samples, as H.264's default chroma location says).
#pragma once
#include <opencv2/core.hpp>

#include "media/png_io.h"
#include "media/video/video_plan.h"

namespace atelier::media {

// The image (RGBA or RGB) over `background`, fitted to canvas_w x canvas_h.
cv::Mat fit_to_canvas(const Image& image, int canvas_w, int canvas_h, Fit fit, Rgb background);

// The frame-sized view of a yuv420p canvas through `window` (ken_burns_window),
// plane by plane: half the bytes of RGB and no
// colour conversion per frame. `out` planes are preallocated at the frame's size
// (Y width x height, U and V (width/2) x (height/2)) and written in place.
struct Planes {
  cv::Mat y, u, v;
};
void render_window(const Planes& canvas, const Window& window, Planes& out);

}  // namespace atelier::media
