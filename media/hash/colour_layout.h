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

}  // namespace atelier::media
