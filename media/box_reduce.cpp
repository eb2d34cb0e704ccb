// Block-mean reduction during decoding; see box_reduce.h.
#include "media/box_reduce.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace atelier::media {

int box_factor(std::uint64_t width, std::uint64_t height, std::uint64_t max_pixels) {
  for (std::uint64_t f = 1; f <= kMaxBoxFactor; ++f)
    if (((width + f - 1) / f) * ((height + f - 1) / f) <= max_pixels) return static_cast<int>(f);
  throw std::invalid_argument("box_factor: " + std::to_string(width) + "x" +
                              std::to_string(height) + " cannot be brought under " +
                              std::to_string(max_pixels) + " pixels by a factor of at most " +
                              std::to_string(kMaxBoxFactor));
}

ReducedImage reduce_image(Image rgba, std::uint64_t max_pixels) {
  if (rgba.channels != 4)
    throw std::invalid_argument("reduce_image: expected RGBA, got " +
                                std::to_string(rgba.channels) + " channels");
  ReducedImage out;
  out.full_width = rgba.width;
  out.full_height = rgba.height;
  out.factor = box_factor(static_cast<std::uint64_t>(rgba.width),
                          static_cast<std::uint64_t>(rgba.height), max_pixels);
  if (out.factor == 1) {
    out.image = std::move(rgba);
    return out;
  }
  BoxReducer reducer(rgba.width, rgba.height, out.factor);
  const size_t stride = static_cast<size_t>(rgba.width) * 4;
  for (int y = 0; y < rgba.height; ++y)
    reducer.add_row(y, rgba.pixels.data() + static_cast<size_t>(y) * stride, rgba.width);
  out.image = reducer.finish();
  return out;
}

BoxReducer::BoxReducer(int width, int height, int factor, Order order)
    : w_(width), h_(height), f_(factor), order_(order) {
  if (width < 1 || height < 1 || factor < 1 || factor > kMaxBoxFactor)
    throw std::invalid_argument("BoxReducer: bad size " + std::to_string(width) + "x" +
                                std::to_string(height) + " or factor " + std::to_string(factor));
  out_w_ = (width + factor - 1) / factor;
  out_h_ = (height + factor - 1) / factor;
  const size_t rows = order == Order::rows_in_order ? 1 : static_cast<size_t>(out_h_);
  sums_.assign(rows * static_cast<size_t>(out_w_) * 4, 0);
  out_.width = out_w_;
  out_.height = out_h_;
  out_.channels = 4;
  out_.pixels.assign(static_cast<size_t>(out_w_) * static_cast<size_t>(out_h_) * 4, 0);
}

void BoxReducer::add_row(int y, const std::uint8_t* rgba, int count, int x0, int xstep) {
  std::uint16_t* row = sums_.data();
  if (order_ == Order::rows_in_order) {
    if (y / f_ != band_) {
      flush_band();
      band_ = y / f_;
    }
  } else {
    row += static_cast<size_t>(y / f_) * static_cast<size_t>(out_w_) * 4;
  }
  int x = x0;
  for (int i = 0; i < count; ++i, x += xstep, rgba += 4) {
    std::uint16_t* s = row + static_cast<size_t>(x / f_) * 4;
    s[0] = static_cast<std::uint16_t>(s[0] + rgba[0]);
    s[1] = static_cast<std::uint16_t>(s[1] + rgba[1]);
    s[2] = static_cast<std::uint16_t>(s[2] + rgba[2]);
    s[3] = static_cast<std::uint16_t>(s[3] + rgba[3]);
  }
}

void BoxReducer::flush_band() {
  const int oy = band_;
  const int rows = std::min(f_, h_ - oy * f_);
  std::uint8_t* dst = out_.pixels.data() + static_cast<size_t>(oy) * out_w_ * 4;
  for (int ox = 0; ox < out_w_; ++ox) {
    const int n = rows * std::min(f_, w_ - ox * f_);
    for (int c = 0; c < 4; ++c) {
      const size_t at = static_cast<size_t>(ox) * 4 + c;
      dst[at] = static_cast<std::uint8_t>((sums_[at] + n / 2) / n);
      sums_[at] = 0;
    }
  }
}

Image BoxReducer::finish() {
  if (order_ == Order::rows_in_order) {
    flush_band();
  } else {
    const std::vector<std::uint16_t> all = std::move(sums_);
    sums_.assign(static_cast<size_t>(out_w_) * 4, 0);
    for (band_ = 0; band_ < out_h_; ++band_) {
      std::copy_n(all.begin() + static_cast<long>(band_) * out_w_ * 4, out_w_ * 4, sums_.begin());
      flush_band();
    }
  }
  sums_.clear();
  sums_.shrink_to_fit();
  return std::move(out_);
}

}  // namespace atelier::media
