// Shrinking an image by a whole factor while it is decoded, so that the full-size
// pixels never exist in memory: each output pixel is the rounded mean of the
// factor x factor block of full-size pixels it covers (fewer at the right and
// bottom edges).
//
// Invariants: the output is ceil(width / factor) x ceil(height / factor) RGBA; the
// sums are 16-bit, so the factor is at most kMaxBoxFactor (255 * 16 * 16 fits).
// Rows in order (Order::rows_in_order: whole rows, top to bottom, as a sequential
// decoder gives them) need sums for one output row only, so memory is the output's
// 4 bytes per pixel; rows in any order and in pieces (an interlaced PNG's passes,
// Order::any_order) need sums for every output pixel, 12 bytes per pixel in all.
// Either way each full-size pixel must be added exactly once.
#pragma once
#include <cstdint>
#include <vector>

#include "media/png_io.h"

namespace atelier::media {

inline constexpr int kMaxBoxFactor = 16;

// What hashing decodes to: at most 2 megapixels (2048 x 1024; an SDXL image or
// a 1600 x 1200 photo is hashed whole). The hashes look at a 64 x 64 canvas, so
// nothing they measure is lost; an image up to this size is hashed at full size, a
// larger one from its block means, however it reached the hasher. Decoding to it
// takes about 8 MB for PNG and JPEG.
inline constexpr std::uint64_t kHashDecodePixels = 2ull << 20;

// An image decoded at reduced size, with the size the file declares.
struct ReducedImage {
  Image image;  // RGBA, at most the pixel count asked for
  int full_width = 0, full_height = 0;
  int factor = 1;  // full size / reduced size, rounded up (1: not reduced)
};

// The smallest factor that brings width x height to at most max_pixels pixels.
// Throws std::invalid_argument when that would be over kMaxBoxFactor.
int box_factor(std::uint64_t width, std::uint64_t height, std::uint64_t max_pixels);

// `rgba` (4 channels) block-averaged to at most max_pixels; unchanged (moved) when
// it is that small already. Throws std::invalid_argument for another channel count.
ReducedImage reduce_image(Image rgba, std::uint64_t max_pixels);

class BoxReducer {
 public:
  enum class Order { rows_in_order, any_order };
  BoxReducer(int width, int height, int factor, Order order = Order::rows_in_order);
  int out_width() const { return out_w_; }
  int out_height() const { return out_h_; }
  // `count` RGBA pixels of full-size row y, the i-th at x = x0 + i * xstep. In
  // rows_in_order, whole rows (count = width) with y never decreasing.
  void add_row(int y, const std::uint8_t* rgba, int count, int x0 = 0, int xstep = 1);
  Image finish();  // the reduced RGBA image; the reducer is spent

 private:
  void flush_band();  // rows_in_order: the current output row into out_
  int w_, h_, f_, out_w_, out_h_;
  Order order_;
  int band_ = 0;                     // rows_in_order: the output row being summed
  std::vector<std::uint16_t> sums_;  // one output row, or every output pixel; x4
  Image out_;
};

}  // namespace atelier::media
