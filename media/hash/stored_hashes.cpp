// Hashing PNGs as they are stored; see stored_hashes.h.
#include "media/hash/stored_hashes.h"

#include <utility>

#include "media/box_reduce.h"
#include "media/png_io.h"
#include "media/png_reduced.h"

namespace atelier::media {

std::optional<StoredImageHashes> hash_png_bytes(std::span<const uint8_t> bytes,
                                                std::string_view name) {
  try {
    const ReducedImage r = reduce_image(decode_png(bytes, 4, name), kHashDecodePixels);
    return StoredImageHashes{hash_image(r.image), r.full_width, r.full_height};
  } catch (const ImageError&) {
    return std::nullopt;
  }
}

std::optional<StoredImageHashes> hash_png_file(const std::filesystem::path& file) {
  try {
    const ReducedImage r = read_png_reduced(file, kHashDecodePixels);
    return StoredImageHashes{hash_image(r.image), r.full_width, r.full_height};
  } catch (const ImageError&) {
    return std::nullopt;
  }
}

}  // namespace atelier::media
