// Fitting and Ken Burns with OpenCV; see still_frames.h.
#include "media/video/still_frames.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace atelier::media {

namespace {

cv::Mat to_rgb(const Image& image, Rgb bg) {
  cv::Mat rgb(image.height, image.width, CV_8UC3);
  const int ch = image.channels;
  const uint8_t* src = image.pixels.data();
  for (int y = 0; y < image.height; ++y) {
    auto* row = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < image.width; ++x) {
      const uint8_t* p = src + (static_cast<size_t>(y) * image.width + x) * ch;
      if (ch == 4) {
        const int a = p[3];
        row[3 * x + 0] = static_cast<uint8_t>((p[0] * a + bg.r * (255 - a) + 127) / 255);
        row[3 * x + 1] = static_cast<uint8_t>((p[1] * a + bg.g * (255 - a) + 127) / 255);
        row[3 * x + 2] = static_cast<uint8_t>((p[2] * a + bg.b * (255 - a) + 127) / 255);
      } else if (ch == 3) {
        row[3 * x + 0] = p[0];
        row[3 * x + 1] = p[1];
        row[3 * x + 2] = p[2];
      } else {
        row[3 * x + 0] = row[3 * x + 1] = row[3 * x + 2] = p[0];
      }
    }
  }
  return rgb;
}

// Area averaging when shrinking, bicubic when enlarging (32x32 generated images
// become 1080-pixel frames: cubic keeps their flat colours and soft edges).
cv::Mat resized(const cv::Mat& src, int w, int h) {
  cv::Mat out;
  const bool shrink = w < src.cols && h < src.rows;
  cv::resize(src, out, cv::Size(w, h), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

cv::Mat cover(const cv::Mat& rgb, int cw, int ch) {
  const double s = std::max(static_cast<double>(cw) / rgb.cols, static_cast<double>(ch) / rgb.rows);
  const int w = std::max(cw, static_cast<int>(std::ceil(rgb.cols * s))),
            h = std::max(ch, static_cast<int>(std::ceil(rgb.rows * s)));
  cv::Mat big = resized(rgb, w, h);
  return big(cv::Rect((w - cw) / 2, (h - ch) / 2, cw, ch)).clone();
}

}  // namespace

cv::Mat fit_to_canvas(const Image& image, int cw, int ch, Fit fit, Rgb bg) {
  const cv::Mat rgb = to_rgb(image, bg);
  if (fit == Fit::cover) return cover(rgb, cw, ch);
  cv::Mat canvas;
  if (fit == Fit::contain) {
    canvas = cv::Mat(ch, cw, CV_8UC3, cv::Scalar(bg.r, bg.g, bg.b));
  } else {
    // The cover-fitted image, blurred at an eighth of the size (cheap, and the
    // blur radius scales with the frame) and dimmed, behind the contained one.
    const int sw = std::max(2, cw / 8), sh = std::max(2, ch / 8);
    cv::Mat small = cover(rgb, sw, sh);
    cv::GaussianBlur(small, small, cv::Size(0, 0), std::max(sw, sh) / 24.0 + 1.0);
    canvas = resized(small, cw, ch);
    canvas.convertTo(canvas, -1, 0.7, 0);
  }
  const double s = std::min(static_cast<double>(cw) / rgb.cols, static_cast<double>(ch) / rgb.rows);
  const int w = std::clamp(static_cast<int>(std::lround(rgb.cols * s)), 1, cw),
            h = std::clamp(static_cast<int>(std::lround(rgb.rows * s)), 1, ch);
  resized(rgb, w, h).copyTo(canvas(cv::Rect((cw - w) / 2, (ch - h) / 2, w, h)));
  return canvas;
}

void render_window(const Planes& canvas, const Window& win, Planes& out) {
  const int width = out.y.cols, height = out.y.rows;
  const double sx = width / win.w, sy = height / win.h;
  // Shrinking by more than ~1.5x with a bilinear warp aliases; zooms here shrink by
  // at most 1 + amount (<= 1.5).
  const cv::Matx23d luma(sx, 0, -win.x * sx, 0, sy, -win.y * sy);
  // Chroma sample c sits at luma position 2c, so the same zoom with the window's
  // origin halved.
  const cv::Matx23d chroma(sx, 0, -win.x / 2 * sx, 0, sy, -win.y / 2 * sy);
  cv::warpAffine(canvas.y, out.y, luma, out.y.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::warpAffine(canvas.u, out.u, chroma, out.u.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::warpAffine(canvas.v, out.v, chroma, out.v.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
}

}  // namespace atelier::media
