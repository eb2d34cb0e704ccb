#include "media/image_decode.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <vector>

#include "media/content_type.h"
#include "media/jpeg_reduced.h"
#include "media/png_reduced.h"

namespace atelier::media {
namespace {

using Bytes = std::span<const std::uint8_t>;

uint32_t be16(const std::uint8_t* p) {
  return (uint32_t{p[0]} << 8) | p[1];
}
uint32_t le16(const std::uint8_t* p) {
  return p[0] | (uint32_t{p[1]} << 8);
}
uint32_t le24(const std::uint8_t* p) {
  return le16(p) | (uint32_t{p[2]} << 16);
}

struct Declared {
  std::uint64_t width = 0, height = 0;
  std::uint64_t bytes_per_pixel = 4;  // as OpenCV will hold it decoded, at most
};

std::optional<Declared> jpeg_size(Bytes b) {
  const size_t n = b.size();
  size_t i = 2;  // the first SOFn segment
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
    if (sof && i + 9 <= n) return Declared{be16(&b[i + 7]), be16(&b[i + 5]), 3};
    i += 2 + len;
  }
  return std::nullopt;
}

std::optional<Declared> webp_size(Bytes b) {
  if (b.size() < 30) return std::nullopt;
  const auto* c = b.data() + 12;
  if (std::memcmp(c, "VP8X", 4) == 0)
    return Declared{uint64_t{le24(c + 12)} + 1, uint64_t{le24(c + 15)} + 1, 4};
  if (std::memcmp(c, "VP8L", 4) == 0) {
    const uint32_t bits =
        c[9] | (uint32_t{c[10]} << 8) | (uint32_t{c[11]} << 16) | (uint32_t{c[12]} << 24);
    return Declared{uint64_t{(bits & 0x3FFF) + 1}, uint64_t{((bits >> 14) & 0x3FFF) + 1}, 4};
  }
  if (std::memcmp(c, "VP8 ", 4) == 0)
    return Declared{uint64_t{le16(c + 14) & 0x3FFF}, uint64_t{le16(c + 16) & 0x3FFF}, 3};
  return std::nullopt;
}

std::optional<Declared> bmp_size(Bytes b) {
  if (b.size() < 26) return std::nullopt;
  if (le16(&b[14]) == 12)  // OS/2 core header: 16-bit sides
    return Declared{le16(&b[18]), le16(&b[20]), 4};
  int32_t w, h;
  std::memcpy(&w, &b[18], 4);
  std::memcpy(&h, &b[22], 4);
  return Declared{uint64_t(std::abs(int64_t{w})), uint64_t(std::abs(int64_t{h})), 4};
}

// TIFF: ImageWidth (256), ImageLength (257), BitsPerSample (258) and
// SamplesPerPixel (277) of the first IFD, classic or BigTIFF, either byte order.
std::optional<Declared> tiff_size(Bytes b) {
  const size_t n = b.size();
  if (n < 16) return std::nullopt;
  const bool le = b[0] == 'I';
  auto u = [&](uint64_t at64, int bytes) -> std::optional<uint64_t> {
    if (at64 > n) return std::nullopt;
    const auto at = static_cast<size_t>(at64);
    if (static_cast<size_t>(bytes) > n - at) return std::nullopt;
    uint64_t v = 0;
    for (int k = 0; k < bytes; ++k)
      v |= uint64_t{b[at + static_cast<size_t>(le ? k : bytes - 1 - k)]} << (8 * k);
    return v;
  };
  const bool big = *u(2, 2) == 43;
  const auto first = big ? u(8, 8) : u(4, 4);
  if (!first) return std::nullopt;
  const uint64_t ifd = *first;
  const auto count = big ? u(ifd, 8) : u(ifd, 2);  // u() checks the bounds
  if (!count || *count > 4096) return std::nullopt;
  const size_t entry = big ? 20 : 12, head = big ? 8 : 2, value_at = big ? 12 : 8;
  uint64_t width = 0, height = 0, bits = 8, samples = 1;
  for (uint64_t k = 0; k < *count; ++k) {
    const uint64_t e = ifd + head + k * entry;
    const auto tag = u(e, 2), type = u(e + 2, 2);
    if (!tag || !type) return std::nullopt;
    const int size = *type == 3 ? 2 : *type == 4 ? 4 : *type == 16 ? 8 : 0;
    if (size == 0) continue;
    // A value that does not fit in the entry is stored at the offset it holds.
    const auto values = big ? u(e + 4, 8) : u(e + 4, 4);
    if (!values || *values == 0) return std::nullopt;
    const uint64_t field = big ? 8 : 4;
    std::optional<uint64_t> v;
    if (*values * static_cast<uint64_t>(size) <= field) {
      v = u(e + value_at, size);
    } else if (const auto at = big ? u(e + value_at, 8) : u(e + value_at, 4)) {
      v = u(*at, size);
    }
    if (!v) return std::nullopt;
    if (*tag == 256) width = *v;
    if (*tag == 257) height = *v;
    if (*tag == 258) bits = *v;  // the first sample's
    if (*tag == 277) samples = *v;
  }
  if (width == 0 || height == 0) return std::nullopt;
  return Declared{width, height, std::max<uint64_t>(1, samples) * (bits > 8 ? 2 : 1)};
}

// Netpbm: P1-P6 "Pn width height [maxval]" with # comments; P7 (PAM) WIDTH/HEIGHT/
// DEPTH/MAXVAL lines up to ENDHDR.
std::optional<Declared> pnm_size(Bytes b) {
  const std::string_view s(reinterpret_cast<const char*>(b.data()),
                           std::min<size_t>(b.size(), 4096));
  size_t i = 2;
  auto token = [&]() -> std::optional<std::string_view> {
    while (i < s.size()) {
      if (s[i] == '#') {
        while (i < s.size() && s[i] != '\n') ++i;
      } else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
        ++i;
      } else {
        break;
      }
    }
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') ++i;
    if (start == i) return std::nullopt;
    return s.substr(start, i - start);
  };
  auto number = [](std::string_view t) -> std::optional<uint64_t> {
    if (t.empty() || t.size() > 12) return std::nullopt;
    uint64_t v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
  };
  Declared d;
  if (s[1] == '7') {
    uint64_t depth = 1, maxval = 255;
    while (auto key = token()) {
      if (*key == "ENDHDR") break;
      const auto v = token();
      if (!v) return std::nullopt;
      const auto num = number(*v);
      if (*key == "WIDTH" && num) d.width = *num;
      if (*key == "HEIGHT" && num) d.height = *num;
      if (*key == "DEPTH" && num) depth = *num;
      if (*key == "MAXVAL" && num) maxval = *num;
    }
    d.bytes_per_pixel = std::max<uint64_t>(depth, 1) * (maxval > 255 ? 2 : 1);
  } else {
    const auto w = token(), h = token();
    if (!w || !h || !number(*w) || !number(*h)) return std::nullopt;
    d.width = *number(*w);
    d.height = *number(*h);
    uint64_t maxval = 1;
    if (s[1] != '1' && s[1] != '4')
      if (auto m = token(); m && number(*m)) maxval = *number(*m);
    const uint64_t channels = (s[1] == '3' || s[1] == '6') ? 3 : 1;
    d.bytes_per_pixel = channels * (maxval > 255 ? 2 : 1);
  }
  if (d.width == 0 || d.height == 0) return std::nullopt;
  return d;
}

std::optional<Declared> declared_size(Bytes b, ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg:
      return jpeg_size(b);
    case ImageFormat::webp:
      return webp_size(b);
    case ImageFormat::bmp:
      return bmp_size(b);
    case ImageFormat::tiff:
      return tiff_size(b);
    case ImageFormat::pnm:
      return pnm_size(b);
    default:
      return std::nullopt;
  }
}

// The formats OpenCV decodes here; everything else is refused before it sees them.
bool opencv_format(ImageFormat f) {
  return f == ImageFormat::jpeg || f == ImageFormat::webp || f == ImageFormat::bmp ||
         f == ImageFormat::tiff || f == ImageFormat::pnm;
}

ContentType sniff(Bytes bytes) {
  return sniff_content(bytes.first(std::min(bytes.size(), kSniffBytes)));
}

// "a JPEG image", "an OpenEXR image".
std::string with_article(const std::string& description) {
  const char c = description.empty() ? 'x' : description[0];
  return (std::string("AEIOUaeiou").find(c) != std::string::npos ? "an " : "a ") + description;
}

[[noreturn]] void refuse_type(const std::string& src, const ContentType& ct) {
  if (!ct.image()) throw ImageError(src + ": not an image (" + ct.description + ")");
  throw ImageError(src + ": " + with_article(ct.description) +
                   ", which Atelier does not decode (it decodes PNG, JPEG, WebP, BMP, TIFF and "
                   "Netpbm images)");
}

// A declared size against png_io.h's limits.
void check_limits(const Declared& d, const std::string& src) {
  if (d.width > kMaxImageSide || d.height > kMaxImageSide ||
      d.width * d.height * 4 > kMaxImagePixelBytes)
    throw ImageError(
        src + ": the header declares " + std::to_string(d.width) + "x" + std::to_string(d.height) +
        " pixels, over the limits (" + std::to_string(kMaxImageSide) + " on a side, " +
        std::to_string(kMaxImagePixelBytes >> 20) + " MiB of RGBA); refused before decoding");
}

// The header's size against the limits, and the decoded bytes against
// `max_decoded_bytes`; refused before OpenCV allocates anything.
void check_declared(Bytes bytes, const ContentType& ct, const std::string& src,
                    std::uint64_t max_decoded_bytes) {
  const auto d = declared_size(bytes, ct.image_format);
  if (!d)
    throw ImageError(src + ": " + with_article(ct.description) +
                     " whose header gives no size; refused");
  check_limits(*d, src);
  const std::uint64_t decoded = d->width * d->height * d->bytes_per_pixel;
  if (decoded > max_decoded_bytes)
    throw ImageError(src + ": " + with_article(ct.description) + " of " + std::to_string(d->width) +
                     "x" + std::to_string(d->height) + " pixels is decoded whole (" +
                     std::to_string(decoded >> 20) + " MiB), over the bound of " +
                     std::to_string(max_decoded_bytes >> 20) +
                     " MiB for that; refused before decoding (PNG and JPEG are decoded at "
                     "reduced size at any size)");
}

// OpenCV's decode, as 8-bit samples with 1, 3 (BGR) or 4 (BGRA) channels.
cv::Mat opencv_decode(Bytes bytes, const std::string& src) {
  cv::Mat m;
  try {
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1,
                      const_cast<std::uint8_t*>(bytes.data()));
    m = cv::imdecode(buf, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw ImageError(src + ": cannot decode image: " + e.what());
  }
  if (m.empty()) throw ImageError(src + ": not a readable image (corrupt data)");
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
  if (m.channels() != 1 && m.channels() != 3 && m.channels() != 4)
    throw ImageError(src + ": unsupported channel count " + std::to_string(m.channels()));
  return m;
}

int to_rgba_code(const cv::Mat& m) {
  return m.channels() == 1   ? cv::COLOR_GRAY2RGBA
         : m.channels() == 3 ? cv::COLOR_BGR2RGBA
                             : cv::COLOR_BGRA2RGBA;
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path, std::uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path.string() + ": cannot open");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw ImageError(path.string() + ": cannot determine the file size");
  if (static_cast<std::uint64_t>(size) > max_bytes)
    throw ImageError(path.string() + ": the file is " + std::to_string(size >> 20) +
                     " MiB, over the bound of " + std::to_string(max_bytes >> 20) +
                     " MiB for decoding it whole; refused");
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (in.gcount() != size) throw ImageError(path.string() + ": short read");
  return bytes;
}

// The first `n` bytes of the file (fewer if it is shorter).
std::vector<std::uint8_t> read_head(const std::filesystem::path& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path.string() + ": cannot open");
  std::vector<std::uint8_t> head(n);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

// Where a JPEG's frame header is looked for before libjpeg reads it: past the
// APPn segments (EXIF, ICC) that usually precede it.
constexpr size_t kJpegHeadBytes = 256 << 10;

}  // namespace

Image decode_image(std::span<const std::uint8_t> bytes, std::string_view source_name) {
  const std::string src(source_name);
  if (bytes.empty()) throw ImageError(src + ": empty file");
  const ContentType ct = sniff(bytes);
  if (ct.image_format == ImageFormat::png) return decode_png(bytes, 4, source_name);
  if (!opencv_format(ct.image_format)) refuse_type(src, ct);
  check_declared(bytes, ct, src, 2 * kMaxImagePixelBytes);
  const cv::Mat m = opencv_decode(bytes, src);
  Image img;
  img.width = m.cols;
  img.height = m.rows;
  img.channels = 4;
  img.pixels.resize(static_cast<size_t>(m.cols) * m.rows * 4);
  // Straight into the Image's buffer: one full-size copy besides OpenCV's.
  cv::Mat rgba(m.rows, m.cols, CV_8UC4, img.pixels.data());
  cv::cvtColor(m, rgba, to_rgba_code(m));
  return img;
}

Image read_image(const std::filesystem::path& path) {
  // A PNG at the pixel limit compresses to well under this (png_io's read_all).
  return decode_image(read_bytes(path, 2 * kMaxImagePixelBytes), path.string());
}

ReducedImage read_image_reduced(const std::filesystem::path& path, std::uint64_t max_pixels) {
  const std::string src = path.string();
  ContentType ct;
  try {
    ct = sniff_file(path);
  } catch (const std::runtime_error& e) {
    throw ImageError(e.what());
  }
  if (ct.image_format == ImageFormat::png) return read_png_reduced(path, max_pixels);
  if (ct.image_format == ImageFormat::jpeg) {
    // The frame header, when it is near the start, is checked here as for a whole
    // decode (libjpeg would first stop at a file with no scan); else libjpeg's
    // header read checks it.
    if (const auto d = jpeg_size(read_head(path, kJpegHeadBytes))) check_limits(*d, src);
    return read_jpeg_reduced(path, max_pixels);
  }
  if (!opencv_format(ct.image_format)) refuse_type(src, ct);
  const std::vector<std::uint8_t> bytes = read_bytes(path, kMaxWholeDecodeBytes);
  check_declared(bytes, ct, src, kMaxWholeDecodeBytes);
  const cv::Mat m = opencv_decode(bytes, src);
  ReducedImage out;
  out.full_width = m.cols;
  out.full_height = m.rows;
  out.factor = box_factor(static_cast<std::uint64_t>(m.cols), static_cast<std::uint64_t>(m.rows),
                          max_pixels);
  BoxReducer reducer(m.cols, m.rows, out.factor);
  cv::Mat row(1, m.cols, CV_8UC4);
  for (int y = 0; y < m.rows; ++y) {
    cv::cvtColor(m.row(y), row, to_rgba_code(m));
    reducer.add_row(y, row.ptr<std::uint8_t>(0), m.cols);
  }
  out.image = reducer.finish();
  return out;
}

}  // namespace atelier::media
