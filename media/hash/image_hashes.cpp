// hash_image's normalisation and the colour layout's text form; see image_hashes.h.
// The constants were chosen with the robustness test in tests/unit/copy_match_test.cpp
// (docs/checks.md has the figures).
#include "media/hash/image_hashes.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <stdexcept>
#include <vector>

namespace atelier::media {

namespace {

// Largest channel difference for a pixel to count as the colour of a uniform line:
// wide enough for JPEG ringing beside a drawing, narrow enough to stop at its outline.
constexpr int kTolerance = 32;
// Uniform layers peeled at most: a frame or two and the background inside them.
constexpr int kMaxLayers = 4;
// The frame holds the mass between these quantiles on each axis, widened by
// kFrameScale so that the outermost 5% of the drawing is not cut off.
constexpr double kMassQuantile = 0.05;
constexpr double kFrameScale = 1.15;
// The dither pattern's amplitude, relative to the RMS of the canvas's own 256 PDQ
// coefficients.
constexpr double kDither = 0.15;
// Quality is measured after stretching the canvas's luma range to full scale, by a
// gain of at most this, and only for ranges of at least kMinStretchRange levels.
constexpr float kMaxQualityGain = 2.0f;
constexpr float kMinStretchRange = 48.0f;

struct Box {
  int x0, y0, x1, y1;  // half-open
  int w() const { return x1 - x0; }
  int h() const { return y1 - y0; }
  bool operator==(const Box&) const = default;
};

cv::Mat composite_rgb(const Image& img) {
  cv::Mat rgb(img.height, img.width, CV_8UC3);
  const int ch = img.channels;
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* p = img.pixels.data() + static_cast<size_t>(y) * img.width * ch;
    auto* o = rgb.ptr<cv::Vec3b>(y);
    for (int x = 0; x < img.width; ++x, p += ch) {
      if (ch == 1) {
        o[x] = cv::Vec3b(p[0], p[0], p[0]);
      } else if (ch == 3) {
        o[x] = cv::Vec3b(p[0], p[1], p[2]);
      } else {
        const int a = p[3];
        for (int c = 0; c < 3; ++c)
          o[x][c] = static_cast<uint8_t>((p[c] * a + 255 * (255 - a) + 127) / 255);
      }
    }
  }
  return rgb;
}

bool near(const cv::Vec3b& p, const cv::Vec3b& q) {
  return std::abs(p[0] - q[0]) <= kTolerance && std::abs(p[1] - q[1]) <= kTolerance &&
         std::abs(p[2] - q[2]) <= kTolerance;
}

int difference(const cv::Vec3b& p, const cv::Vec3b& q) {
  return std::max({std::abs(p[0] - q[0]), std::abs(p[1] - q[1]), std::abs(p[2] - q[2])});
}

std::vector<cv::Vec3b> edge_pixels(const cv::Mat& rgb, const Box& b) {
  std::vector<cv::Vec3b> px;
  for (int x = b.x0; x < b.x1; ++x) {
    px.push_back(rgb.at<cv::Vec3b>(b.y0, x));
    if (b.h() > 1) px.push_back(rgb.at<cv::Vec3b>(b.y1 - 1, x));
  }
  for (int y = b.y0 + 1; y < b.y1 - 1; ++y) {
    px.push_back(rgb.at<cv::Vec3b>(y, b.x0));
    if (b.w() > 1) px.push_back(rgb.at<cv::Vec3b>(y, b.x1 - 1));
  }
  return px;
}

struct EdgeColour {
  cv::Vec3b colour;
  double coverage;  // share of edge pixels near `colour`
};

// The commonest colour on the box's edge: the mean of the fullest bin of 32 levels
// per channel. A mode, not a median, so that an edge half white and half navy gives
// one of the two rather than a blend found nowhere.
EdgeColour edge_mode(const cv::Mat& rgb, const Box& b) {
  const auto px = edge_pixels(rgb, b);
  std::array<int, 512> count{};
  std::array<std::array<long, 3>, 512> sum{};
  for (const auto& p : px) {
    const int k = (p[0] >> 5) * 64 + (p[1] >> 5) * 8 + (p[2] >> 5);
    ++count[static_cast<size_t>(k)];
    for (int c = 0; c < 3; ++c) sum[static_cast<size_t>(k)][static_cast<size_t>(c)] += p[c];
  }
  const auto k = static_cast<size_t>(std::max_element(count.begin(), count.end()) - count.begin());
  EdgeColour e{};
  for (int c = 0; c < 3; ++c)
    e.colour[c] = static_cast<uint8_t>((sum[k][static_cast<size_t>(c)] + count[k] / 2) / count[k]);
  int in = 0;
  for (const auto& p : px) in += near(p, e.colour);
  e.coverage = static_cast<double>(in) / static_cast<double>(px.size());
  return e;
}

cv::Vec3b edge_median(const cv::Mat& rgb, const Box& b) {
  const auto px = edge_pixels(rgb, b);
  cv::Vec3b m;
  for (int c = 0; c < 3; ++c) {
    std::vector<uint8_t> v;
    v.reserve(px.size());
    for (const auto& p : px) v.push_back(p[c]);
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    m[c] = v[v.size() / 2];
  }
  return m;
}

struct Trimmed {
  Box box;
  cv::Vec3b background;
};

// Peels uniform lines off the sides, a layer (one colour) at a time: an added frame,
// then the background around the subject. A layer that is not peeled on all four
// sides is the background itself (a frame goes all round), so peeling stops after
// it; otherwise the stripes of a flag that touches the background would be peeled
// one by one. A layer that would leave less than kPdqMinSide is the content.
Trimmed trim_margins(const cv::Mat& rgb) {
  Box box{0, 0, rgb.cols, rgb.rows};
  cv::Vec3b peeled_colour{};
  bool peeled = false, whole_frame = false;
  for (int layer = 0; layer < kMaxLayers; ++layer) {
    const cv::Vec3b c = edge_mode(rgb, box).colour;
    auto uniform_row = [&](int y) {
      for (int x = box.x0; x < box.x1; ++x)
        if (!near(rgb.at<cv::Vec3b>(y, x), c)) return false;
      return true;
    };
    auto uniform_column = [&](int x) {
      for (int y = box.y0; y < box.y1; ++y)
        if (!near(rgb.at<cv::Vec3b>(y, x), c)) return false;
      return true;
    };
    Box nb = box;
    while (nb.y0 < nb.y1 && uniform_row(nb.y0)) ++nb.y0;
    while (nb.y1 > nb.y0 && uniform_row(nb.y1 - 1)) --nb.y1;
    while (nb.x0 < nb.x1 && uniform_column(nb.x0)) ++nb.x0;
    while (nb.x1 > nb.x0 && uniform_column(nb.x1 - 1)) --nb.x1;
    if (nb.w() < kPdqMinSide || nb.h() < kPdqMinSide || nb == box) break;
    whole_frame = nb.x0 > box.x0 && nb.y0 > box.y0 && nb.x1 < box.x1 && nb.y1 < box.y1;
    box = nb;
    peeled_colour = c;
    peeled = true;
    if (!whole_frame) break;
  }
  // The background is what the subject's corners show (white around a rounded square
  // or a disc that touches the edges) when they agree; else the colour last peeled,
  // unless that was a whole frame (or nothing was peeled), in which case the subject's
  // own edge tells, as it would without the frame.
  const cv::Vec3b corner[4] = {
      rgb.at<cv::Vec3b>(box.y0, box.x0), rgb.at<cv::Vec3b>(box.y0, box.x1 - 1),
      rgb.at<cv::Vec3b>(box.y1 - 1, box.x0), rgb.at<cv::Vec3b>(box.y1 - 1, box.x1 - 1)};
  cv::Vec3b mean;
  for (int c = 0; c < 3; ++c)
    mean[c] =
        static_cast<uint8_t>((corner[0][c] + corner[1][c] + corner[2][c] + corner[3][c] + 2) / 4);
  bool agree = true;
  for (const auto& k : corner) agree = agree && near(k, mean);
  if (agree) return {box, mean};
  if (peeled && !whole_frame) return {box, peeled_colour};
  const EdgeColour e = edge_mode(rgb, box);
  return {box, e.coverage >= 0.5 ? e.colour : edge_median(rgb, box)};
}

struct Frame {
  double cx, cy, hx, hy;  // centre and half extents, in pixels (pixel i spans i..i+1)
};

// The frame of the subject: on each axis, the span between the 5% and 95% quantiles
// of its mass, widened by kFrameScale. Mass is the squared difference from the
// background, so pale parts (which a brighter copy washes into the background) move
// the frame little, and a few stray pixels at the edge (a crop's cut, JPEG noise)
// move it less than they would move a bounding box or second moments.
std::optional<Frame> subject_frame(const cv::Mat& rgb, const Box& box, const cv::Vec3b& bg) {
  std::vector<double> px(static_cast<size_t>(box.w()), 0.0), py(static_cast<size_t>(box.h()), 0.0);
  double total = 0;
  for (int y = box.y0; y < box.y1; ++y)
    for (int x = box.x0; x < box.x1; ++x) {
      const double d = difference(rgb.at<cv::Vec3b>(y, x), bg) / 255.0;
      const double w = d * d;
      px[static_cast<size_t>(x - box.x0)] += w;
      py[static_cast<size_t>(y - box.y0)] += w;
      total += w;
    }
  if (total < 1) return std::nullopt;  // less than one pixel's worth: flat
  auto quantile = [&](const std::vector<double>& v, int origin, double f) {
    const double target = f * total;
    double acc = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] > 0 && acc + v[i] >= target)
        return origin + static_cast<double>(i) + (target - acc) / v[i];
      acc += v[i];
    }
    return origin + static_cast<double>(v.size());
  };
  const double x0 = quantile(px, box.x0, kMassQuantile),
               x1 = quantile(px, box.x0, 1 - kMassQuantile);
  const double y0 = quantile(py, box.y0, kMassQuantile),
               y1 = quantile(py, box.y0, 1 - kMassQuantile);
  return Frame{(x0 + x1) / 2, (y0 + y1) / 2, std::max(0.5, kFrameScale * (x1 - x0) / 2),
               std::max(0.5, kFrameScale * (y1 - y0) / 2)};
}

// The frame resampled onto the kNormalisedSide square; outside the trimmed box is
// background, so a frame or a cropped-off margin leaves no trace.
cv::Mat frame_canvas(const cv::Mat& rgb, const Box& box, Frame f, const cv::Vec3b& bg) {
  cv::Mat roi = rgb(cv::Rect(box.x0, box.y0, box.w(), box.h()));
  f.cx -= box.x0;
  f.cy -= box.y0;
  // Bilinear sampling aliases when shrinking much; shrink by area first.
  const double shrink = std::max(f.hx, f.hy) * 2 / kNormalisedSide;
  if (shrink > 1.5) {
    const int w = std::max(1, static_cast<int>(std::lround(roi.cols / shrink)));
    const int h = std::max(1, static_cast<int>(std::lround(roi.rows / shrink)));
    cv::Mat small;
    cv::resize(roi, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    const double fx = static_cast<double>(roi.cols) / w, fy = static_cast<double>(roi.rows) / h;
    f = {f.cx / fx, f.cy / fy, f.hx / fx, f.hy / fy};
    roi = small;
  }
  // Canvas pixel u (centre u + 0.5) samples source x = cx - hx + (u + 0.5) * sx, and
  // source pixel i has its centre at i + 0.5.
  const double sx = 2 * f.hx / kNormalisedSide, sy = 2 * f.hy / kNormalisedSide;
  const cv::Mat to_source = (cv::Mat_<double>(2, 3) << sx, 0, f.cx - f.hx + 0.5 * sx - 0.5, 0, sy,
                             f.cy - f.hy + 0.5 * sy - 0.5);
  cv::Mat canvas;
  cv::warpAffine(roi, canvas, to_source, cv::Size(kNormalisedSide, kNormalisedSide),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT,
                 cv::Scalar(bg[0], bg[1], bg[2]));
  return canvas;
}

std::vector<float> luma_of(const cv::Mat& canvas) {
  std::vector<float> luma(canvas.total());
  for (size_t i = 0; i < luma.size(); ++i) {
    const uint8_t* q = canvas.data + 3 * i;
    luma[i] = 0.299f * q[0] + 0.587f * q[1] + 0.114f * q[2];
  }
  return luma;
}

// PDQ's DCT rows 1..16 over 64 samples, orthonormal.
const std::array<std::array<double, 64>, 16>& dct_rows() {
  static const auto d = [] {
    std::array<std::array<double, 64>, 16> m{};
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 64; ++j)
        m[static_cast<size_t>(i)][static_cast<size_t>(j)] =
            std::sqrt(2.0 / 64.0) * std::cos((M_PI / 128.0) * (i + 1) * (2 * j + 1));
    return m;
  }();
  return d;
}

// sum over (i, j) of s_ij d_i(y) d_j(x), with fixed signs s (half +1, half -1, in a
// fixed shuffled order): added to a canvas it moves each of PDQ's 256 coefficients by
// exactly its amplitude times +-1.
const std::vector<float>& dither_pattern() {
  static const std::vector<float> pattern = [] {
    std::array<int, 256> s{};
    for (size_t k = 0; k < 256; ++k) s[k] = k < 128 ? 1 : -1;
    uint32_t x = 12345;
    for (size_t k = 255; k > 0; --k) {
      x = x * 1664525u + 1013904223u;
      std::swap(s[k], s[(x >> 8) % (k + 1)]);
    }
    const auto& d = dct_rows();
    std::vector<float> p(64 * 64);
    for (size_t y = 0; y < 64; ++y)
      for (size_t xx = 0; xx < 64; ++xx) {
        double v = 0;
        for (size_t i = 0; i < 16; ++i)
          for (size_t j = 0; j < 16; ++j) v += s[i * 16 + j] * d[i][y] * d[j][xx];
        p[y * 64 + xx] = static_cast<float>(v);
      }
    return p;
  }();
  return pattern;
}

// RMS of the canvas's 256 PDQ coefficients.
double coefficient_rms(const std::vector<float>& luma) {
  const auto& d = dct_rows();
  std::array<std::array<double, 64>, 16> t{};
  for (size_t i = 0; i < 16; ++i)
    for (size_t x = 0; x < 64; ++x) {
      double a = 0;
      for (size_t y = 0; y < 64; ++y) a += d[i][y] * luma[y * 64 + x];
      t[i][x] = a;
    }
  double ss = 0;
  for (size_t i = 0; i < 16; ++i)
    for (size_t j = 0; j < 16; ++j) {
      double a = 0;
      for (size_t x = 0; x < 64; ++x) a += t[i][x] * d[j][x];
      ss += a * a;
    }
  return std::sqrt(ss / 256);
}

// PDQ of the canvas plus the dither pattern. A coefficient near PDQ's median (zero,
// for these canvases) gets a bit from noise: a disc or a symmetric flag has most of
// its coefficients there, and a half-size copy flipped up to 90 of its 256 bits.
// With the pattern, a coefficient much smaller than the amplitude takes the
// pattern's sign, the same in every copy, and a large one keeps its own.
Pdq256 dithered_pdq(const cv::Mat& canvas) {
  std::vector<float> luma = luma_of(canvas);
  const auto amplitude = static_cast<float>(kDither * coefficient_rms(luma));
  const auto& p = dither_pattern();
  for (size_t i = 0; i < luma.size(); ++i) luma[i] += amplitude * p[i];
  return pdq_from_luma(std::move(luma), kNormalisedSide, kNormalisedSide).hash;
}

// PDQ's quality on the canvas with its luma range stretched (bounded gain): a pale
// drawing on white has as much structure as a dark one, while the noise of a flat
// image (a range under kMinStretchRange) is not amplified.
int stretched_quality(const cv::Mat& canvas) {
  std::vector<float> luma = luma_of(canvas);
  const auto [lo, hi] = std::minmax_element(luma.begin(), luma.end());
  const float range = *hi - *lo;
  if (range >= kMinStretchRange) {
    const float gain = std::min(kMaxQualityGain, 255.0f / range), floor = *lo;
    for (auto& v : luma) v = (v - floor) * gain;
  }
  return pdq_from_luma(std::move(luma), kNormalisedSide, kNormalisedSide).quality;
}

void check_image(const Image& img) {
  if (img.channels != 1 && img.channels != 3 && img.channels != 4)
    throw std::invalid_argument("hash_image: images need 1, 3 or 4 channels, got " +
                                std::to_string(img.channels));
  if (img.width < 1 || img.height < 1)
    throw std::invalid_argument("hash_image: empty image (" + std::to_string(img.width) + "x" +
                                std::to_string(img.height) + ")");
  if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * img.channels)
    throw std::invalid_argument("hash_image: the pixel buffer holds " +
                                std::to_string(img.pixels.size()) + " bytes, not " +
                                std::to_string(img.width) + " x " + std::to_string(img.height) +
                                " x " + std::to_string(img.channels));
}

// The normalised canvas (CV_8UC3), or an empty Mat for an image too small or flat.
cv::Mat normalised_canvas(const cv::Mat& rgb) {
  if (rgb.cols < kPdqMinSide || rgb.rows < kPdqMinSide) return {};
  const Trimmed t = trim_margins(rgb);
  const auto frame = subject_frame(rgb, t.box, t.background);
  if (!frame) return {};
  return frame_canvas(rgb, t.box, *frame, t.background);
}

}  // namespace

Image normalise_for_hashing(const Image& img) {
  check_image(img);
  const cv::Mat canvas = normalised_canvas(composite_rgb(img));
  Image out;
  if (canvas.empty()) {
    out.width = out.height = 0;
    return out;
  }
  out.width = canvas.cols;
  out.height = canvas.rows;
  out.channels = 3;
  out.pixels.assign(canvas.data, canvas.data + canvas.total() * 3);
  return out;
}

ImageHashes hash_image(const Image& img) {
  check_image(img);
  const cv::Mat rgb = composite_rgb(img);
  const cv::Mat canvas = normalised_canvas(rgb);
  ImageHashes out;
  if (canvas.empty()) {
    out.colour = colour_layout(rgb.data, rgb.cols, rgb.rows, 3);
    return out;
  }
  out.quality = stretched_quality(canvas);
  // An unhashable image keeps the all-zero hash, as PDQ gives flat images.
  if (out.hashable()) out.pdq = dithered_pdq(canvas);
  out.colour = colour_layout(canvas.data, canvas.cols, canvas.rows, 3);
  return out;
}

std::string ImageHashes::colour_hex() const {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(96);
  for (size_t i = 0; i < colour.size(); ++i) {
    const double v = i % 3 == 0 ? colour[i] * 255.0 / 100.0 : colour[i] + 128.0;
    const auto b = static_cast<unsigned>(std::clamp(std::lround(v), 0L, 255L));
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

ColourLayout ImageHashes::colour_from_hex(const std::string& hex) {
  if (hex.size() != 96)
    throw std::invalid_argument("colour layout: the text form is 96 hexadecimal digits, got " +
                                std::to_string(hex.size()) + " characters");
  auto digit = [&](size_t i) {
    const char ch = hex[i];
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    throw std::invalid_argument(std::string("colour layout: '") + ch + "' at position " +
                                std::to_string(i) + " is not a hexadecimal digit");
  };
  ColourLayout c{};
  for (size_t i = 0; i < c.size(); ++i) {
    const int b = digit(2 * i) * 16 + digit(2 * i + 1);
    c[i] = i % 3 == 0 ? static_cast<float>(b * 100.0 / 255.0) : static_cast<float>(b - 128);
  }
  return c;
}

}  // namespace atelier::media
