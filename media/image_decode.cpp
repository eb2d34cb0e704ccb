#include "media/image_decode.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <utility>

namespace atelier::media {
namespace {

bool is_png(std::span<const std::uint8_t> b) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return b.size() >= 8 && std::equal(sig, sig + 8, b.begin());
}

uint32_t be16(const std::uint8_t* p) {
  return (uint32_t{p[0]} << 8) | p[1];
}
uint32_t le16(const std::uint8_t* p) {
  return p[0] | (uint32_t{p[1]} << 8);
}
uint32_t le24(const std::uint8_t* p) {
  return le16(p) | (uint32_t{p[2]} << 16);
}

// The size a JPEG, WebP, GIF or BMP header declares, read before anything is
// decoded: OpenCV would otherwise allocate whatever a header claims (up to its
// own limit of 2^30 pixels) before our size check could run. nullopt for other
// formats and for headers too short to say.
std::optional<std::pair<uint64_t, uint64_t>> declared_size(std::span<const std::uint8_t> b) {
  const size_t n = b.size();
  if (n >= 4 && b[0] == 0xFF && b[1] == 0xD8) {  // JPEG: the first SOFn segment
    size_t i = 2;
    while (i + 4 <= n) {
      if (b[i] != 0xFF) return std::nullopt;
      const uint8_t m = b[i + 1];
      if (m == 0xFF) {
        ++i;
        continue;
      }
      if (m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {
        i += 2;
        continue;
      }
      const size_t len = be16(&b[i + 2]);
      const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof && i + 9 <= n) return std::pair{uint64_t{be16(&b[i + 7])}, uint64_t{be16(&b[i + 5])}};
      i += 2 + len;
    }
    return std::nullopt;
  }
  if (n >= 30 && std::memcmp(b.data(), "RIFF", 4) == 0 &&
      std::memcmp(b.data() + 8, "WEBP", 4) == 0) {
    const auto* c = b.data() + 12;
    if (std::memcmp(c, "VP8X", 4) == 0)
      return std::pair{uint64_t{le24(c + 12)} + 1, uint64_t{le24(c + 15)} + 1};
    if (std::memcmp(c, "VP8L", 4) == 0 && n >= 25) {
      const uint32_t bits =
          c[9] | (uint32_t{c[10]} << 8) | (uint32_t{c[11]} << 16) | (uint32_t{c[12]} << 24);
      return std::pair{uint64_t{(bits & 0x3FFF) + 1}, uint64_t{((bits >> 14) & 0x3FFF) + 1}};
    }
    if (std::memcmp(c, "VP8 ", 4) == 0)
      return std::pair{uint64_t{le16(c + 14) & 0x3FFF}, uint64_t{le16(c + 16) & 0x3FFF}};
    return std::nullopt;
  }
  if (n >= 10 &&
      (std::memcmp(b.data(), "GIF87a", 6) == 0 || std::memcmp(b.data(), "GIF89a", 6) == 0))
    return std::pair{uint64_t{le16(&b[6])}, uint64_t{le16(&b[8])}};
  if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
    int32_t w, h;
    std::memcpy(&w, &b[18], 4);
    std::memcpy(&h, &b[22], 4);
    return std::pair{uint64_t(std::abs(int64_t{w})), uint64_t(std::abs(int64_t{h}))};
  }
  return std::nullopt;
}

}  // namespace

Image decode_image(std::span<const std::uint8_t> bytes, std::string_view source_name) {
  const std::string src(source_name);
  if (bytes.empty()) throw ImageError(src + ": empty file");
  if (is_png(bytes)) return decode_png(bytes, 4, source_name);
  if (auto size = declared_size(bytes)) {
    const auto [w, h] = *size;
    if (w > kMaxImageSide || h > kMaxImageSide || w * h * 4 > kMaxImagePixelBytes)
      throw ImageError(src + ": the header declares " + std::to_string(w) + "x" +
                       std::to_string(h) + " pixels, over the limit of " +
                       std::to_string(kMaxImageSide) + " on a side; refused before decoding");
  }
  cv::Mat m;
  try {
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1,
                      const_cast<std::uint8_t*>(bytes.data()));
    m = cv::imdecode(buf, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw ImageError(src + ": cannot decode image: " + e.what());
  }
  if (m.empty()) throw ImageError(src + ": not a readable image (unknown format or corrupt data)");
  if (m.cols > kMaxImageSide || m.rows > kMaxImageSide)
    throw ImageError(src + ": image is " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                     ", larger than " + std::to_string(kMaxImageSide) + " on a side");
  if (m.depth() == CV_16U) {
    m.convertTo(m, CV_8U, 1.0 / 257.0);
  } else if (m.depth() == CV_32F || m.depth() == CV_64F) {
    m.convertTo(m, CV_8U, 255.0);
  } else if (m.depth() != CV_8U) {
    m.convertTo(m, CV_8U);
  }
  cv::Mat rgba;
  switch (m.channels()) {
    case 1:
      cv::cvtColor(m, rgba, cv::COLOR_GRAY2RGBA);
      break;
    case 3:
      cv::cvtColor(m, rgba, cv::COLOR_BGR2RGBA);
      break;
    case 4:
      cv::cvtColor(m, rgba, cv::COLOR_BGRA2RGBA);
      break;
    default:
      throw ImageError(src + ": unsupported channel count " + std::to_string(m.channels()));
  }
  Image img;
  img.width = rgba.cols;
  img.height = rgba.rows;
  img.channels = 4;
  img.pixels.resize(static_cast<size_t>(rgba.cols) * rgba.rows * 4);
  for (int y = 0; y < rgba.rows; ++y)
    std::memcpy(img.pixels.data() + static_cast<size_t>(y) * rgba.cols * 4, rgba.ptr(y),
                static_cast<size_t>(rgba.cols) * 4);
  return img;
}

Image read_image(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path.string() + ": cannot open");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  return decode_image(bytes, path.string());
}

}  // namespace atelier::media
