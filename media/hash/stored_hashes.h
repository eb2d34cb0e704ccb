// Hashing an image as it enters the asset store (a job's PNG output, an imported
// PNG). Only PNG is decoded here, with libpng inside png_io's size limits, so the
// light `atelier` binary can hash what it imports without loading OpenCV's codecs;
// images in other formats are hashed by the first check that reads them. A file is
// hashed at reduced size when it is over kHashDecodePixels (box_reduce.h), as every
// hashing path does; hash_png_file streams it from the file (png_reduced.h), so an
// import's memory stays bounded whatever the PNG's size within the limits.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

#include "media/hash/image_hashes.h"

namespace atelier::media {

struct StoredImageHashes {
  ImageHashes hashes;
  int width = 0, height = 0;
};

// nullopt when the bytes are not a PNG that decodes within the limits: the asset
// is stored all the same, and the check that reads it reports why.
std::optional<StoredImageHashes> hash_png_bytes(std::span<const uint8_t> bytes,
                                                std::string_view name);
std::optional<StoredImageHashes> hash_png_file(const std::filesystem::path& file);

}  // namespace atelier::media
