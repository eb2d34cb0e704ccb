// A colour signal beside PDQ, which sees only luma: the picture's colour layout,
// the mean CIELAB colour (L 0..100, float conversion) of each cell of a 4x4 grid
// over the image, compared by the mean CIE76 colour difference (delta E) of the
// cells. Resizing, recompression, a small crop or border and mild brightness changes
// move it by a few units; the same shapes in other colours move it by tens.
//
// OpenCV's colour-moment hash (Hu moments of the HSV and YCrCb channels) was tried
// first: Hu moments are normalised by each channel's total, and on the tests' scenes
// a red-blue swap landed only twice as far as a half-size copy.
#pragma once
#include <array>
#include <cstdint>

namespace atelier::media {

using ColourLayout = std::array<float, 48>;  // 16 cells x (L, a, b), row by row

// 8-bit pixels with 1, 3 (RGB) or 4 (RGBA, composited over white) channels.
// Throws std::invalid_argument for another channel count or an empty image.
ColourLayout colour_layout(const uint8_t* pixels, int width, int height, int channels);

// Mean delta E over the 16 cells.
double colour_distance(const ColourLayout& a, const ColourLayout& b);

// The largest over the 16 cells of the CIE76 delta E between the layouts, where each
// cell of `a` may first be scaled by a gain g in [1/1.15, 1.15] on (L + 16, a, b)
// (the least-squares g, clamped). A gain on linear RGB scales XYZ, and so scales
// (L + 16, a, b) by its cube root: 1.15 covers sRGB brightness changes of about 20%.
// The largest cell, not the mean, so that a shirt of another colour counts in full.
double colour_gate_distance(const ColourLayout& a, const ColourLayout& b);

}  // namespace atelier::media
