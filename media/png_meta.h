// A strict PNG chunk reader for image size and text metadata, written without
// libpng so that hostile bytes meet only bounds-checked code (it is the fuzz
// target in fuzz/png_meta_fuzz.cpp). It reads the chunk structure, not pixels.
//
// A file is accepted only if: it starts with the PNG signature; every chunk has
// a type of four ASCII letters, a length of at most 2^31-1 that fits in the
// file, and a matching CRC-32; IHDR comes first, once, with 13 bytes of valid
// values; IDAT chunks are present and consecutive; IEND is present, empty and
// last, with nothing after it (a file with bytes after IEND is refused: our
// writers never produce one, and appended data is a common way to smuggle a
// second file). Text chunks (tEXt, zTXt, iTXt) must be well formed: keyword of
// 1-79 printable Latin-1 bytes, compression method 0, decompressed size at most
// kMaxTextChunkBytes, iTXt language tag of ASCII letters, digits and hyphens,
// iTXt translated keyword and text valid UTF-8, no NUL in any text; all texts
// together at most kMaxTotalTextBytes. Other chunks are checked for structure
// only. Any violation throws ImageError "<source>: chunk 'tEXt' at byte 33:
// CRC mismatch" (the byte is the chunk's offset in the file).
#pragma once
#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/png_io.h"

namespace atelier::media {

// Decompressed size of one zTXt/iTXt text: stops zip bombs at a bounded cost.
inline constexpr std::size_t kMaxTextChunkBytes = 8u << 20;
// Keywords plus texts of all text chunks, as UTF-8.
inline constexpr std::size_t kMaxTotalTextBytes = 16u << 20;

struct PngInfo {
  int width = 0, height = 0;
  std::vector<PngText> texts;  // file order; keywords and texts converted to UTF-8
};

PngInfo read_png_metadata(std::span<const std::uint8_t> bytes, std::string_view source_name);
// Reads the whole file (refusing files over 1 GiB) and names it by its path. A
// text chunk longer than kMaxTextChunkBytes plus 4 KiB is refused from its
// header, before the file is read into memory.
PngInfo read_png_metadata_file(const std::filesystem::path& path);

// The text of the first chunk whose keyword equals `keyword` (e.g. "parameters").
std::optional<std::string> find_text(const PngInfo& info, std::string_view keyword);
// The texts of every chunk whose keyword equals `keyword`, in file order: a
// reader that must not be fooled by a second copy counts them.
std::vector<std::string> find_texts(const PngInfo& info, std::string_view keyword);

}  // namespace atelier::media
