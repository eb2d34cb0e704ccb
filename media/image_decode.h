// Still images in any common format (PNG, JPEG, WebP, BMP, TIFF, PNM, ...) decoded
// by their content, not their file name, to 8-bit RGBA. PNG goes through libpng
// (png_io.h); everything else through OpenCV's imgcodecs. Gray, palette, 16-bit
// and alpha-less images all come out as RGBA (opaque where the file has no alpha).
// A JPEG, WebP, GIF or BMP whose header declares more than png_io's limits is refused
// before decoding, as a PNG is. Every error is an ImageError whose message starts
// with the source name.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "media/png_io.h"

namespace atelier::media {

Image decode_image(std::span<const std::uint8_t> bytes, std::string_view source_name);
Image read_image(const std::filesystem::path& path);

}  // namespace atelier::media
