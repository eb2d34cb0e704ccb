// Content sniffing by magic numbers; see content_type.h.
#include "media/content_type.h"

#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "common/utf8.h"

namespace atelier::media {
namespace {

using Bytes = std::span<const std::uint8_t>;

bool starts(Bytes b, size_t at, std::string_view magic) {
  return b.size() >= at + magic.size() &&
         std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

ContentType image(ImageFormat f, const char* type, const char* what) {
  return {type, what, f, false};
}

ContentType other(const char* type, const char* what) {
  return {type, what, ImageFormat::none, false};
}

// A BMP starts with "BM" and a DIB header of one of the sizes its versions use;
// "BM" alone begins too much text to trust.
bool is_bmp(Bytes b) {
  if (!starts(b, 0, "BM") || b.size() < 18) return false;
  const uint32_t dib =
      b[14] | (uint32_t{b[15]} << 8) | (uint32_t{b[16]} << 16) | (uint32_t{b[17]} << 24);
  for (uint32_t n : {12u, 16u, 40u, 52u, 56u, 64u, 108u, 124u})
    if (dib == n) return true;
  return false;
}

// Netpbm: P1..P7 and a whitespace.
bool is_pnm(Bytes b) {
  return b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' &&
         (b[2] == ' ' || b[2] == '\n' || b[2] == '\r' || b[2] == '\t');
}

// An MPEG audio frame header: 11 sync bits, a defined version and layer, a bitrate
// index other than "bad".
bool is_mpeg_audio_frame(Bytes b) {
  if (b.size() < 4 || b[0] != 0xFF || (b[1] & 0xE0) != 0xE0) return false;
  const int version = (b[1] >> 3) & 3, layer = (b[1] >> 1) & 3, bitrate = b[2] >> 4;
  return version != 1 && layer != 0 && bitrate != 15 && ((b[2] >> 2) & 3) != 3;
}

// AAC in ADTS frames: 12 sync bits, layer 0.
bool is_adts(Bytes b) {
  return b.size() >= 7 && b[0] == 0xFF && (b[1] & 0xF6) == 0xF0;
}

// The ISO base media family (MP4, MOV, M4A, AVIF, HEIF) by the ftyp box's brand.
std::optional<ContentType> iso_media(Bytes b) {
  if (!starts(b, 4, "ftyp") || b.size() < 12) return std::nullopt;
  const std::string_view brand(reinterpret_cast<const char*>(b.data() + 8), 4);
  if (brand == "avif" || brand == "avis")
    return image(ImageFormat::other, "image/avif", "AVIF image");
  if (brand == "heic" || brand == "heix" || brand == "mif1" || brand == "msf1")
    return image(ImageFormat::other, "image/heif", "HEIF image");
  if (brand == "M4A " || brand == "M4B " || brand == "M4P ") return other("audio/mp4", "MP4 audio");
  if (brand == "qt  ") return other("video/quicktime", "QuickTime video");
  return other("video/mp4", "MP4 video");
}

// Text: valid UTF-8 (a sequence cut by the end of the head counts), no NUL and
// no control characters other than tab, line feed, form feed, carriage return and
// escape.
bool is_text(Bytes b) {
  const std::string_view s(reinterpret_cast<const char*>(b.data()), b.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const size_t n = utf8_sequence(s, i, cp);
    if (n == 0) return s.size() - i < 4 && b.size() == kSniffBytes;
    if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\f' && cp != '\r' && cp != 0x1B)
      return false;
    if (cp == 0x7F) return false;
    i += n;
  }
  return true;
}

}  // namespace

ContentType sniff_content(Bytes b) {
  if (b.empty()) return other("application/octet-stream", "an empty file");
  if (starts(b, 0, "\x89PNG\r\n\x1a\n")) return image(ImageFormat::png, "image/png", "PNG image");
  if (starts(b, 0, "\xFF\xD8\xFF")) return image(ImageFormat::jpeg, "image/jpeg", "JPEG image");
  if (starts(b, 0, "RIFF") && starts(b, 8, "WEBP"))
    return image(ImageFormat::webp, "image/webp", "WebP image");
  if (starts(b, 0, "GIF87a") || starts(b, 0, "GIF89a"))
    return image(ImageFormat::gif, "image/gif", "GIF image");
  if (is_bmp(b)) return image(ImageFormat::bmp, "image/bmp", "BMP image");
  if (starts(b, 0, std::string_view("II*\0", 4)) || starts(b, 0, std::string_view("MM\0*", 4)) ||
      starts(b, 0, std::string_view("II+\0", 4)) || starts(b, 0, std::string_view("MM\0+", 4)))
    return image(ImageFormat::tiff, "image/tiff", "TIFF image");
  if (is_pnm(b)) return image(ImageFormat::pnm, "image/x-portable-anymap", "Netpbm image");
  if (starts(b, 0, std::string_view("\0\0\0\x0CjP  \r\n\x87\n", 12)) ||
      starts(b, 0, "\xFF\x4F\xFF\x51"))
    return image(ImageFormat::jpeg2000, "image/jp2", "JPEG 2000 image");
  if (starts(b, 0, "\x76\x2F\x31\x01"))
    return image(ImageFormat::exr, "image/x-exr", "OpenEXR image");
  if (starts(b, 0, "#?RADIANCE") || starts(b, 0, "#?RGBE"))
    return image(ImageFormat::hdr, "image/vnd.radiance", "Radiance HDR image");
  if (starts(b, 0, "\x59\xA6\x6A\x95"))
    return image(ImageFormat::other, "image/x-sun-raster", "Sun raster image");
  if (starts(b, 0, "8BPS"))
    return image(ImageFormat::other, "image/vnd.adobe.photoshop", "Photoshop image");
  if (auto iso = iso_media(b)) return *iso;
  if (starts(b, 0, "ID3") || is_mpeg_audio_frame(b)) return other("audio/mpeg", "MP3 audio");
  if (is_adts(b)) return other("audio/aac", "AAC audio");
  if (starts(b, 0, "RIFF") && starts(b, 8, "WAVE")) return other("audio/wav", "WAV audio");
  if (starts(b, 0, "RIFF") && starts(b, 8, "AVI ")) return other("video/x-msvideo", "AVI video");
  if (starts(b, 0, "OggS")) return other("audio/ogg", "Ogg audio");
  if (starts(b, 0, "fLaC")) return other("audio/flac", "FLAC audio");
  if (starts(b, 0, "\x1A\x45\xDF\xA3")) return other("video/webm", "WebM or Matroska video");
  if (starts(b, 0, "%PDF-")) return other("application/pdf", "PDF document");
  if (starts(b, 0, "PK\x03\x04")) return other("application/zip", "ZIP archive");
  if (starts(b, 0, "\x1F\x8B")) return other("application/gzip", "gzip data");
  if (is_text(b)) return {"text/plain", "UTF-8 text", ImageFormat::none, true};
  return other("application/octet-stream", "unrecognised binary data");
}

ContentType sniff_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::vector<std::uint8_t> head(kSniffBytes);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return sniff_content(head);
}

}  // namespace atelier::media
