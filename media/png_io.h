// PNG files through libpng: encode (with tEXt/iTXt text chunks) and decode to
// 8-bit interleaved pixels. Invariants: an Image holds exactly
// width * height * channels bytes with channels 1, 3 or 4; encoding the same
// Image and texts with the same libpng/zlib gives the same bytes (fixed
// compression settings, no tIME chunk); decoding refuses oversized images before
// allocating pixels; libpng's longjmp never crosses a frame that owns C++
// objects. Every error is an ImageError whose message starts with the source
// name (a path, or the name the caller gave the bytes).
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace atelier::media {

struct Image {
  int width = 0, height = 0, channels = 3;
  std::vector<std::uint8_t> pixels;  // row-major, interleaved, 8-bit per sample
};

// A text chunk. Keyword and text are UTF-8 in memory. A plain chunk (tEXt) is
// Latin-1 in the file, so encoding refuses characters above U+00FF in it; an
// international one (iTXt) holds UTF-8 text, written uncompressed, with empty
// language tag and translated keyword. Keywords are Latin-1 in both kinds.
struct PngText {
  std::string keyword;
  std::string text;
  bool international = false;
};

class ImageError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// Decoding limits, also enforced by encoding so that whatever we write we can
// read back.
inline constexpr int kMaxImageSide = 16384;
inline constexpr std::uint64_t kMaxImagePixelBytes = 256ull << 20;

// Text chunks go before IDAT, in the given order. Keywords must be 1-79
// printable Latin-1 characters without leading, trailing or doubled spaces
// (libpng would silently rewrite them otherwise); texts must not contain NUL.
std::vector<std::uint8_t> encode_png(const Image& image, const std::vector<PngText>& texts = {});

// Writes a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the folder: readers see the old file or the whole new one.
void write_png(const std::filesystem::path& path, const Image& image,
               const std::vector<PngText>& texts = {});

// want_channels: 0 keeps the stored layout (gray -> 1, colour or palette -> 3,
// anything with alpha or tRNS -> 4); 3 gives RGB, dropping alpha without
// compositing (as PIL's convert("RGB") does); 4 gives RGBA, opaque where the
// file has no alpha. 16-bit samples are reduced to 8 bits; values are
// sRGB-encoded as libpng's simplified API delivers them (a gAMA chunk other
// than sRGB's is applied).
Image decode_png(std::span<const std::uint8_t> bytes, int want_channels,
                 std::string_view source_name);
Image read_png(const std::filesystem::path& path, int want_channels = 0);

}  // namespace atelier::media
