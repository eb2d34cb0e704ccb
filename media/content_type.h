// What a file holds, judged by its first bytes (magic numbers), never by its name:
// a PNG renamed `work.mp3` is a PNG image, and an MP3 named `work.png` is MP3 audio.
// Checks, imports and `atelier check` type files with this, so a renamed image is
// still checked as an image and a file that is not one is never passed by an image
// check.
//
// Invariants: image() is true exactly for still-image formats (PNG, JPEG, WebP, GIF,
// BMP, TIFF, Netpbm, JPEG 2000, OpenEXR, Radiance HDR, Sun raster, AVIF, HEIF,
// Photoshop), whether or not Atelier decodes them: one it cannot decode is still an
// image, and an unreadable image must not ship unseen; `media_type` is a
// plain lower-case type/subtype; `description` is short English for messages ("PNG
// image", "MP3 audio", "UTF-8 text"). Sniffing reads at most kSniffBytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace atelier::media {

inline constexpr std::size_t kSniffBytes = 4096;

enum class ImageFormat { none, png, jpeg, webp, gif, bmp, tiff, pnm, jpeg2000, exr, hdr, other };

struct ContentType {
  std::string media_type;   // "image/png", "audio/mpeg", "text/plain", "application/octet-stream"
  std::string description;  // "PNG image", "MP3 audio", "unrecognised binary data"
  ImageFormat image_format = ImageFormat::none;
  bool text = false;  // UTF-8 (or ASCII) text without NUL bytes
  bool image() const { return image_format != ImageFormat::none; }
  // Recognised by a magic number (text and unrecognised data are not).
  bool recognised() const { return media_type != "application/octet-stream" && !text; }
};

// `head`: the file's first bytes (kSniffBytes or the whole file if shorter).
ContentType sniff_content(std::span<const std::uint8_t> head);
// Reads the head of `path`; an empty file is "application/octet-stream", "an empty
// file". Throws std::runtime_error naming the path when it cannot be opened.
ContentType sniff_file(const std::filesystem::path& path);

}  // namespace atelier::media
