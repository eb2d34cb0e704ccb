// Still images decoded by their content, never their file name (content_type.h),
// to 8-bit RGBA. PNG goes through libpng (png_io.h); JPEG, WebP, BMP, TIFF and
// Netpbm through OpenCV's imgcodecs; other image formats (GIF, JPEG 2000, OpenEXR,
// ...) are refused as not decoded, and a file that is not an image is refused as
// such, naming what it is. Gray, palette, 16-bit and alpha-less images all come out
// as RGBA (opaque where the file has no alpha). Every format's header is read and
// its declared size checked against png_io's limits before anything is decoded.
// Every error is an ImageError whose message starts with the source name.
//
// Two ways in:
//  - decode_image / read_image: the full-size pixels, for the kinds that use them
//    (captioning, training, video). Memory: up to the limits (256 MiB of RGBA).
//  - read_image_reduced: for hashing and other whole-image measures, at most
//    `max_pixels` pixels (block means of the full-size ones), decoded so that memory
//    stays bounded whatever the size within the limits: PNG and JPEG are streamed
//    from the file and reduced while decoding (png_reduced.h, jpeg_reduced.h); WebP,
//    BMP, TIFF and Netpbm have no reduced decoder, so they are decoded whole only
//    when the file and the decoded pixels each fit kMaxWholeDecodeBytes, and refused
//    otherwise. An image at most `max_pixels` in size comes out exactly as
//    decode_image gives it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "media/box_reduce.h"
#include "media/png_io.h"

namespace atelier::media {

// The most a format without a reduced decoder may take, as file and as pixels.
inline constexpr std::uint64_t kMaxWholeDecodeBytes = 64ull << 20;

Image decode_image(std::span<const std::uint8_t> bytes, std::string_view source_name);
Image read_image(const std::filesystem::path& path);

ReducedImage read_image_reduced(const std::filesystem::path& path,
                                std::uint64_t max_pixels = kHashDecodePixels);

}  // namespace atelier::media
