// Reading a PNG at reduced size, a row at a time straight from the file, for
// hashing and other whole-image measures: neither the file nor its full-size
// pixels are ever held in memory, so a 16384 x 4000 PNG costs about what its
// reduced copy does (4 bytes per reduced pixel, 12 for an interlaced file, plus
// libpng's row and zlib buffers).
//
// Invariants: the limits are decode_png's (kMaxImageSide a side, kMaxImagePixelBytes
// of RGBA), checked on the header before any pixel memory exists; the pixels are
// those decode_png(bytes, 4, ...) gives (the same expansion, 16-to-8-bit scaling and
// gamma defaults as libpng's simplified API), block-averaged by box_reduce.h, so at
// factor 1 they are identical; interlaced files are read pass by pass without a
// full-size buffer. Every error is an ImageError whose message starts with the path.
#pragma once
#include <cstdint>
#include <filesystem>

#include "media/box_reduce.h"

namespace atelier::media {

ReducedImage read_png_reduced(const std::filesystem::path& path, std::uint64_t max_pixels);

}  // namespace atelier::media
