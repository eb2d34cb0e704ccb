// Hashing PNGs as they are stored; see stored_hashes.h.
#include "media/hash/stored_hashes.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "media/png_io.h"

namespace atelier::media {

std::optional<StoredImageHashes> hash_png_bytes(std::span<const uint8_t> bytes,
                                                std::string_view name) {
  try {
    const Image img = decode_png(bytes, 4, name);
    return StoredImageHashes{hash_image(img), img.width, img.height};
  } catch (const ImageError&) {
    return std::nullopt;
  }
}

std::optional<StoredImageHashes> hash_png_file(const std::filesystem::path& file) {
  try {
    const Image img = read_png(file, 4);
    return StoredImageHashes{hash_image(img), img.width, img.height};
  } catch (const ImageError&) {
    return std::nullopt;
  }
}

}  // namespace atelier::media
