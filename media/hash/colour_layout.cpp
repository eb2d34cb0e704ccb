// Colour layout; see colour_layout.h.
#include "media/hash/colour_layout.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>

namespace atelier::media {

namespace {
constexpr double kMaxCellGain = 1.15;  // colour_gate_distance's largest gain
}  // namespace

ColourLayout colour_layout(const uint8_t* px, int width, int height, int channels) {
  if (channels != 1 && channels != 3 && channels != 4)
    throw std::invalid_argument("colour layout: images need 1, 3 or 4 channels, got " +
                                std::to_string(channels));
  if (width < 1 || height < 1) throw std::invalid_argument("colour layout: empty image");
  cv::Mat rgb(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const uint8_t* p = px + (static_cast<size_t>(y) * width + x) * channels;
      auto& o = rgb.at<cv::Vec3f>(y, x);
      if (channels == 1) {
        o = cv::Vec3f(p[0], p[0], p[0]) / 255.f;
        continue;
      }
      const float a = channels == 4 ? p[3] / 255.f : 1.f;
      for (int c = 0; c < 3; ++c) o[c] = (p[c] * a + 255.f * (1 - a)) / 255.f;
    }
  // Area averaging to the 4x4 grid first: the mean colour of each cell, then Lab.
  cv::Mat cells, lab;
  cv::resize(rgb, cells, cv::Size(4, 4), 0, 0, cv::INTER_AREA);
  cv::cvtColor(cells, lab, cv::COLOR_RGB2Lab);
  ColourLayout out{};
  for (int i = 0; i < 16; ++i) {
    const auto& v = lab.at<cv::Vec3f>(i / 4, i % 4);
    for (int c = 0; c < 3; ++c) out[static_cast<size_t>(3 * i + c)] = v[c];
  }
  return out;
}

double colour_gate_distance(const ColourLayout& a, const ColourLayout& b) {
  double worst = 0;
  for (size_t i = 0; i < 16; ++i) {
    const double x[3] = {a[3 * i] + 16.0, a[3 * i + 1], a[3 * i + 2]};
    const double y[3] = {b[3 * i] + 16.0, b[3 * i + 1], b[3 * i + 2]};
    const double xx = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
    double g = xx > 0 ? (x[0] * y[0] + x[1] * y[1] + x[2] * y[2]) / xx : 1.0;
    g = std::clamp(g, 1 / kMaxCellGain, kMaxCellGain);
    double d = 0;
    for (int c = 0; c < 3; ++c) d += (g * x[c] - y[c]) * (g * x[c] - y[c]);
    worst = std::max(worst, std::sqrt(d));
  }
  return worst;
}

double colour_distance(const ColourLayout& a, const ColourLayout& b) {
  double sum = 0;
  for (size_t i = 0; i < 16; ++i) {
    double d = 0;
    for (size_t c = 0; c < 3; ++c) {
      const double e = a[3 * i + c] - b[3 * i + c];
      d += e * e;
    }
    sum += std::sqrt(d);
  }
  return sum / 16;
}

}  // namespace atelier::media
