#include "media/image_decode.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace atelier::media {
namespace {

bool is_png(std::span<const std::uint8_t> b) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return b.size() >= 8 && std::equal(sig, sig + 8, b.begin());
}

}  // namespace

Image decode_image(std::span<const std::uint8_t> bytes, std::string_view source_name) {
  const std::string src(source_name);
  if (bytes.empty()) throw ImageError(src + ": empty file");
  if (is_png(bytes)) return decode_png(bytes, 4, source_name);
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
