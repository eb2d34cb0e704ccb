// libFuzzer target: arbitrary bytes through read_png_metadata and, for each
// text it returns, through parse_infotext. Rejecting a file (ImageError) is
// the expected outcome for most inputs; any other exception, a crash, a hang or
// a sanitizer report is a finding. Commands and results: docs/fuzzing.md.
//
// A mutated chunk almost never keeps a valid CRC, which would leave everything
// past the CRC check unreached; so an input that starts with the PNG signature
// is also tried with every CRC recomputed. An input without the signature is
// also parsed as infotext directly. Parsed infotext must survive a format and
// parse round trip where infotext.h promises it does.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/infotext.h"
#include "media/png_meta.h"

namespace {

using atelier::media::Infotext;

constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

bool same(const Infotext& a, const Infotext& b) {
  return a.prompt == b.prompt && a.negative_prompt == b.negative_prompt && a.params == b.params;
}

void check_infotext(std::string_view text) {
  const Infotext parsed = atelier::media::parse_infotext(text);
  // The promise covers at least 3 distinct keys (parsing already merged
  // repeats) and no negative-prompt line that itself starts with the prefix.
  if (parsed.params.size() < 3 ||
      parsed.negative_prompt.find("\nNegative prompt:") != std::string::npos)
    return;
  const Infotext again = atelier::media::parse_infotext(atelier::media::format_infotext(parsed));
  if (!same(parsed, again)) __builtin_trap();
}

void check_png(std::span<const std::uint8_t> bytes) {
  atelier::media::PngInfo info;
  try {
    info = atelier::media::read_png_metadata(bytes, "fuzz.png");
  } catch (const atelier::media::ImageError&) {
    return;
  }
  for (const atelier::media::PngText& t : info.texts) check_infotext(t.text);
}

// The same bytes with each chunk's CRC recomputed, as far as the chunk
// lengths fit in the input.
std::vector<std::uint8_t> with_fixed_crcs(std::span<const std::uint8_t> in) {
  std::vector<std::uint8_t> out(in.begin(), in.end());
  size_t pos = sizeof kSignature;
  while (out.size() - pos >= 12) {
    const std::uint32_t len = (std::uint32_t(out[pos]) << 24) |
                              (std::uint32_t(out[pos + 1]) << 16) |
                              (std::uint32_t(out[pos + 2]) << 8) | std::uint32_t(out[pos + 3]);
    if (len > out.size() - pos - 12) break;
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), &out[pos + 4], uInt(4 + len));
    for (int i = 0; i < 4; ++i) out[pos + 8 + len + i] = std::uint8_t(crc >> (24 - 8 * i));
    pos += 12 + size_t(len);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check_png(bytes);
  if (size >= sizeof kSignature && std::memcmp(data, kSignature, sizeof kSignature) == 0) {
    const std::vector<std::uint8_t> fixed = with_fixed_crcs(bytes);
    if (!std::equal(fixed.begin(), fixed.end(), bytes.begin())) check_png(fixed);
  } else {
    check_infotext(std::string_view(reinterpret_cast<const char*>(data), size));
  }
  return 0;
}
