// Reading a JPEG at reduced size straight from the file with libjpeg: the DCT is
// scaled down (1/2, 1/4 or 1/8) while decoding and the rest of the reduction is a
// block mean (box_reduce.h), so a baseline JPEG of any size within the limits costs
// about its reduced copy. A progressive JPEG needs its whole coefficient array
// (2 bytes per sample) whatever the output size; one that would need more than
// kMaxJpegCoefficientBytes is refused before decoding, and libjpeg's own memory cap
// is set to the same bound as a backstop.
//
// Invariants: limits as png_io.h's (checked on the frame header before any pixel
// memory exists); the colours are libjpeg's RGB (CMYK and YCCK converted as
// OpenCV's imgcodecs does); EXIF orientation is ignored, as the hashes ignore it;
// every error is an ImageError whose message starts with the path.
#pragma once
#include <cstdint>
#include <filesystem>

#include "media/box_reduce.h"

namespace atelier::media {

inline constexpr std::uint64_t kMaxJpegCoefficientBytes = 96ull << 20;

ReducedImage read_jpeg_reduced(const std::filesystem::path& path, std::uint64_t max_pixels);

}  // namespace atelier::media
