// Typing files by content and decoding them within bounds (media/content_type.h,
// media/image_decode.h): the sniffer names images, audio, video, documents and text
// by their magic numbers whatever their names; the reduced decoders give exactly the
// full decode's pixels when nothing needs reducing and its block means when
// something does (PNG of every colour type, bit depth and interlacing; baseline,
// progressive, grayscale JPEG; TIFF, BMP, Netpbm), refuse oversized headers before
// decoding, and name what a file is when it is not an image; and the reference PDQ
// of ThreatExchange's own test images, decoded full or reduced, stays within the
// upstream tolerance of its published hashes.
#include <png.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "media/box_reduce.h"
#include "media/content_type.h"
#include "media/hash/pdq.h"
#include "media/image_decode.h"
#include "media/jpeg_reduced.h"
#include "media/png_reduced.h"

namespace fs = std::filesystem;
using namespace atelier::media;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "atelier-decode-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path operator/(const std::string& name) const { return dir_ / name; }

 private:
  fs::path dir_;
};

std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

fs::path write_bytes(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
  return p;
}

// A smooth scene with edges (so JPEG keeps something to compare), 8-bit BGR.
cv::Mat scene(int w, int h, uint32_t seed) {
  cv::Mat m(h, w, CV_8UC3);
  std::mt19937 rng(seed);
  const int cx = static_cast<int>(rng() % static_cast<unsigned>(w));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool disc = (x - cx) * (x - cx) + (y - h / 2) * (y - h / 2) < (h / 3) * (h / 3);
      m.at<cv::Vec3b>(y, x) = disc ? cv::Vec3b(40, 60, 200)
                                   : cv::Vec3b(static_cast<uint8_t>(x * 255 / w),
                                               static_cast<uint8_t>(y * 255 / h), 128);
    }
  return m;
}

// Writes a PNG with libpng's full API: any colour type, bit depth and interlacing.
// `sample(x, y, c)` gives channel c of pixel (x, y) at the bit depth.
struct PngSpec {
  int width = 40, height = 30, color_type = PNG_COLOR_TYPE_RGB, depth = 8;
  bool interlaced = false;
  bool palette_alpha = false;  // a palette with a tRNS chunk
  bool gamma_linear = false;   // a gAMA chunk of 1.0
};

int channels_of(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE:
      return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return 2;
    case PNG_COLOR_TYPE_RGB:
      return 3;
    default:
      return 4;
  }
}

void write_png_spec(const fs::path& path, const PngSpec& s) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, png_uint_32(s.width), png_uint_32(s.height), s.depth, s.color_type,
               s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> palette;
  std::vector<png_byte> alpha;
  if (s.color_type == PNG_COLOR_TYPE_PALETTE) {
    for (int i = 0; i < (1 << s.depth); ++i) {
      palette.push_back({static_cast<png_byte>(i * 37), static_cast<png_byte>(255 - i * 11),
                         static_cast<png_byte>(i * 5)});
      alpha.push_back(static_cast<png_byte>(255 - i * 3));
    }
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
    if (s.palette_alpha)
      png_set_tRNS(png, info, alpha.data(), static_cast<int>(alpha.size()), nullptr);
  }
  if (s.gamma_linear) png_set_gAMA(png, info, 1.0);
  png_write_info(png, info);
  if (s.depth == 16) png_set_swap(png);  // rows below are little-endian 16-bit
  const int ch = channels_of(s.color_type);
  const size_t rowbytes = (static_cast<size_t>(s.width) * ch * s.depth + 7) / 8;
  std::vector<std::vector<png_byte>> rows(static_cast<size_t>(s.height),
                                          std::vector<png_byte>(rowbytes, 0));
  const int max = (1 << s.depth) - 1;
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x)
      for (int c = 0; c < ch; ++c) {
        const int v = ((x * 7 + y * 13 + c * 50) * (max + 1) / 97) % (max + 1);
        const size_t bit = (static_cast<size_t>(x) * ch + c) * s.depth;
        auto& row = rows[static_cast<size_t>(y)];
        if (s.depth == 16) {
          row[bit / 8] = static_cast<png_byte>(v & 0xFF);
          row[bit / 8 + 1] = static_cast<png_byte>(v >> 8);
        } else if (s.depth == 8) {
          row[bit / 8] = static_cast<png_byte>(v);
        } else {
          row[bit / 8] |= static_cast<png_byte>(v << (8 - s.depth - bit % 8));
        }
      }
  std::vector<png_bytep> ptrs;
  for (auto& r : rows) ptrs.push_back(r.data());
  png_write_image(png, ptrs.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

double mean_abs_difference(const Image& a, const Image& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  if (a.pixels.size() != b.pixels.size()) return 1e9;
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(a.pixels[i] - b.pixels[i]);
  return sum / static_cast<double>(a.pixels.size());
}

}  // namespace

TEST(ContentType, NamesFilesByTheirMagicNumbers) {
  struct Case {
    std::string head, media_type;
    bool image;
  };
  const std::vector<Case> cases = {
      {"\x89PNG\r\n\x1a\n....", "image/png", true},
      {"\xFF\xD8\xFF\xE0\x00\x10JFIF", "image/jpeg", true},
      {std::string("RIFF\x10\x00\x00\x00WEBPVP8 ", 16), "image/webp", true},
      {"GIF89a\x01\x00\x01\x00", "image/gif", true},
      {std::string("BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", 18),
       "image/bmp", true},
      {std::string("II*\x00\x08\x00\x00\x00", 8), "image/tiff", true},
      {std::string("MM\x00*\x00\x00\x00\x08", 8), "image/tiff", true},
      {"P6\n4 4\n255\n", "image/x-portable-anymap", true},
      {std::string("\x00\x00\x00\x0CjP  \r\n\x87\n", 12), "image/jp2", true},
      {"\x76\x2F\x31\x01", "image/x-exr", true},
      {std::string("\x00\x00\x00\x1C"
                   "ftypavif",
                   12),
       "image/avif", true},
      {std::string("ID3\x03\x00\x00\x00\x00\x00\x0a", 10), "audio/mpeg", false},
      {"\xFF\xFB\x90\x64\x00\x00", "audio/mpeg", false},
      {std::string("RIFF\x24\x00\x00\x00WAVEfmt ", 16), "audio/wav", false},
      {"OggS\x00\x02", "audio/ogg", false},
      {"fLaC\x00\x00\x00\x22", "audio/flac", false},
      {std::string("\x00\x00\x00\x20"
                   "ftypisom",
                   12),
       "video/mp4", false},
      {std::string("\x00\x00\x00\x20"
                   "ftypM4A ",
                   12),
       "audio/mp4", false},
      {"\x1A\x45\xDF\xA3\x01", "video/webm", false},
      {"%PDF-1.7\n", "application/pdf", false},
      {"PK\x03\x04\x14\x00", "application/zip", false},
      {"Launch copy: caf\xC3\xA9, \xE8\x80\x90\xE5\x85\x8B\n", "text/plain", false},
      {"BMW and Benz\n", "text/plain", false},
      {std::string("\x00\x01\x02\x03\xFE\xFD", 6), "application/octet-stream", false},
  };
  for (const Case& c : cases) {
    const ContentType t = sniff_content(bytes_of(c.head));
    EXPECT_EQ(t.media_type, c.media_type) << c.head;
    EXPECT_EQ(t.image(), c.image) << c.head;
    EXPECT_FALSE(t.description.empty());
  }
  EXPECT_EQ(sniff_content({}).description, "an empty file");
  EXPECT_FALSE(sniff_content({}).image());
}

TEST(ReducedDecode, PngOfEveryLayoutMatchesTheFullDecodeOrItsBlockMeans) {
  TempDir dir;
  std::vector<PngSpec> specs = {
      {.color_type = PNG_COLOR_TYPE_RGB},
      {.color_type = PNG_COLOR_TYPE_RGBA},
      {.color_type = PNG_COLOR_TYPE_GRAY},
      {.color_type = PNG_COLOR_TYPE_GRAY_ALPHA},
      {.color_type = PNG_COLOR_TYPE_GRAY, .depth = 1},
      {.color_type = PNG_COLOR_TYPE_PALETTE, .depth = 4},
      {.color_type = PNG_COLOR_TYPE_PALETTE, .depth = 8, .palette_alpha = true},
      {.color_type = PNG_COLOR_TYPE_RGB, .depth = 16},
      {.color_type = PNG_COLOR_TYPE_RGBA, .depth = 16},
      {.color_type = PNG_COLOR_TYPE_RGB, .interlaced = true},
      {.width = 37,
       .height = 23,
       .color_type = PNG_COLOR_TYPE_PALETTE,
       .depth = 2,
       .interlaced = true,
       .palette_alpha = true},
      {.color_type = PNG_COLOR_TYPE_RGB, .gamma_linear = true},
  };
  int k = 0;
  for (const PngSpec& s : specs) {
    const fs::path p = dir / ("case" + std::to_string(k++) + ".png");
    write_png_spec(p, s);
    const Image full = read_png(p, 4);
    const ReducedImage same = read_png_reduced(p, 1 << 20);
    EXPECT_EQ(same.factor, 1);
    EXPECT_EQ(same.full_width, s.width);
    EXPECT_EQ(same.image.pixels, full.pixels)
        << p << " type " << s.color_type << " depth " << s.depth << " interlaced " << s.interlaced;
    // Forced to about a ninth: each pixel the mean of its block, edges included.
    const ReducedImage small = read_png_reduced(p, 200);
    EXPECT_EQ(small.factor, box_factor(s.width, s.height, 200));
    EXPECT_GT(small.factor, 1);
    const ReducedImage expected = reduce_image(full, 200);
    EXPECT_EQ(small.image.width, expected.image.width);
    EXPECT_EQ(small.image.pixels, expected.image.pixels) << p;
    // And read_image_reduced takes the same path.
    EXPECT_EQ(read_image_reduced(p, 200).image.pixels, expected.image.pixels);
  }
}

TEST(ReducedDecode, BlockMeansAreRoundedMeansOverWhatEachBlockCovers) {
  Image img{5, 3, 4, {}};
  for (int i = 0; i < 15; ++i)
    for (int c = 0; c < 4; ++c) img.pixels.push_back(static_cast<uint8_t>(i * 10 + c));
  const ReducedImage r = reduce_image(img, 6);  // factor 2: 3 x 2
  ASSERT_EQ(r.factor, 2);
  ASSERT_EQ(r.image.width, 3);
  ASSERT_EQ(r.image.height, 2);
  // Block (0,0): pixels 0, 1, 5, 6 -> mean 30 (channel 0); block (2,1): pixel 14 alone.
  EXPECT_EQ(r.image.pixels[0], 30);
  EXPECT_EQ(r.image.pixels[(1 * 3 + 2) * 4], 140);
  // Block (2,0): pixels 4 and 9 -> 65.
  EXPECT_EQ(r.image.pixels[2 * 4], 65);
  EXPECT_THROW(box_factor(16384, 16384, 100), std::invalid_argument);
}

TEST(ReducedDecode, JpegIsExactAtFullSizeAndCloseWhenScaled) {
  TempDir dir;
  struct Variant {
    std::string name;
    cv::Mat image;
    std::vector<int> params;
  };
  const cv::Mat colour = scene(1200, 800, 1);
  cv::Mat gray;
  cv::cvtColor(colour, gray, cv::COLOR_BGR2GRAY);
  const std::vector<Variant> variants = {
      {"baseline.jpg", colour, {cv::IMWRITE_JPEG_QUALITY, 90}},
      {"progressive.jpg", colour, {cv::IMWRITE_JPEG_QUALITY, 90, cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
      {"gray.jpg", gray, {cv::IMWRITE_JPEG_QUALITY, 90}},
  };
  for (const Variant& v : variants) {
    const fs::path p = dir / v.name;
    ASSERT_TRUE(cv::imwrite(p.string(), v.image, v.params));
    const Image full = read_image(p);
    const ReducedImage same = read_image_reduced(p, 1 << 20);
    EXPECT_EQ(same.factor, 1);
    EXPECT_EQ(same.image.pixels, full.pixels) << v.name;
    // 960,000 pixels into 100,000: libjpeg scales by 4 in the DCT; the result is
    // close to the block means of the full decode.
    const ReducedImage scaled = read_image_reduced(p, 100000);
    EXPECT_EQ(scaled.factor, 4);
    EXPECT_EQ(scaled.full_width, 1200);
    const ReducedImage expected = reduce_image(full, 100000);
    EXPECT_LT(mean_abs_difference(scaled.image, expected.image), 2.0) << v.name;
  }
}

TEST(ReducedDecode, OversizedHeadersAreRefusedBeforeDecoding) {
  TempDir dir;
  // A progressive JPEG (SOF2) of 8192 x 8000, three full-resolution components:
  // 384 MiB of coefficients, whatever the output size.
  const std::string sof2 = std::string("\xFF\xD8\xFF\xC2\x00\x11\x08\x1F\x40\x20\x00\x03", 12) +
                           std::string("\x01\x11\x00\x02\x11\x00\x03\x11\x00", 9);
  const std::string sos =
      std::string("\xFF\xDA\x00\x0C\x03\x01\x00\x02\x00\x03\x00\x00\x00\x00", 14);
  const fs::path prog = write_bytes(dir / "huge-progressive.jpg", sof2 + sos + "\xFF\xD9");
  std::string e = error_of([&] { read_image_reduced(prog); });
  EXPECT_NE(e.find("progressive JPEG"), std::string::npos) << e;
  EXPECT_NE(e.find("refused before decoding"), std::string::npos) << e;
  EXPECT_NE(e.find(prog.string()), std::string::npos) << e;

  // A TIFF whose first IFD declares 20000 x 20000.
  std::string tiff("II*\x00\x08\x00\x00\x00", 8);
  tiff += std::string("\x02\x00", 2);                                           // two entries
  tiff += std::string("\x00\x01\x04\x00\x01\x00\x00\x00\x20\x4E\x00\x00", 12);  // width LONG
  tiff += std::string("\x01\x01\x04\x00\x01\x00\x00\x00\x20\x4E\x00\x00", 12);  // height LONG
  tiff += std::string(4, '\0');
  const fs::path big_tiff = write_bytes(dir / "huge.tif", tiff);
  e = error_of([&] { read_image_reduced(big_tiff); });
  EXPECT_NE(e.find("20000x20000"), std::string::npos) << e;
  EXPECT_NE(e.find("refused before decoding"), std::string::npos) << e;
  e = error_of([&] { read_image(big_tiff); });
  EXPECT_NE(e.find("refused before decoding"), std::string::npos) << e;

  // A Netpbm header of 16000 x 16000, and a PNG's 30000 x 30000.
  const fs::path pnm = write_bytes(dir / "huge.ppm", "P6\n# big\n16000 16000\n255\n");
  e = error_of([&] { read_image(pnm); });
  EXPECT_NE(e.find("16000x16000"), std::string::npos) << e;
}

TEST(ReducedDecode, FormatsDecodedWholeMatchAndNonImagesAreNamed) {
  TempDir dir;
  const cv::Mat img = scene(300, 200, 2);
  for (const char* name : {"a.tif", "a.bmp", "a.ppm", "a.webp"}) {
    const fs::path p = dir / name;
    ASSERT_TRUE(cv::imwrite(p.string(), img)) << name;
    const Image full = read_image(p);
    EXPECT_EQ(full.width, 300);
    const ReducedImage same = read_image_reduced(p, 1 << 20);
    EXPECT_EQ(same.image.pixels, full.pixels) << name;
    const ReducedImage small = read_image_reduced(p, 10000);
    EXPECT_EQ(small.image.pixels, reduce_image(full, 10000).image.pixels) << name;
  }
  // By content, not by name: a PNG called .mp3 decodes; text called .png does not.
  const cv::Mat small = scene(20, 10, 3);
  ASSERT_TRUE(cv::imwrite((dir / "b.png").string(), small));
  fs::rename(dir / "b.png", dir / "b.mp3");
  EXPECT_EQ(read_image(dir / "b.mp3").width, 20);
  EXPECT_EQ(read_image_reduced(dir / "b.mp3").image.width, 20);
  const fs::path text = write_bytes(dir / "notes.png", "not an image\n");
  std::string e = error_of([&] { read_image_reduced(text); });
  EXPECT_NE(e.find("notes.png: not an image (UTF-8 text)"), std::string::npos) << e;
  e = error_of([&] { read_image(text); });
  EXPECT_NE(e.find("not an image (UTF-8 text)"), std::string::npos) << e;
  const fs::path gif =
      write_bytes(dir / "a.gif", std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14));
  e = error_of([&] { read_image_reduced(gif); });
  EXPECT_NE(e.find("GIF image, which Atelier does not decode"), std::string::npos) << e;
}

// Upstream's rule for another implementation: on the test images with quality of at
// least 80, PDQ within Hamming distance 10 of the C++ reference's hashes. Reduced
// decoding (the 4032 x 3024 photos are reduced for hashing) must keep to it.
TEST(PdqConformance, ThreatExchangeImagesHashWithinToleranceFullAndReduced) {
  const fs::path refs = fs::path(ATELIER_EXTERNAL_REFS) / "pdq";
  if (!fs::exists(refs / "expected_hashes.csv"))
    GTEST_SKIP() << "no ThreatExchange reference data at " << refs;
  std::ifstream csv(refs / "expected_hashes.csv");
  std::string line;
  std::getline(csv, line);  // header
  int compared = 0, reduced_for_hashing = 0, worst_full = 0, worst_reduced = 0;
  while (std::getline(csv, line)) {
    std::stringstream ss(line);
    std::string image, source, hex, quality;
    std::getline(ss, image, ',');
    std::getline(ss, source, ',');
    std::getline(ss, hex, ',');
    std::getline(ss, quality, ',');
    // The C++ reference's rows (the others come from other decoders and ports).
    if (source.rfind("cpp_", 0) != 0) continue;
    if (quality.empty() || std::atoi(quality.c_str()) < 80) continue;
    const fs::path file = refs / "images" / image;
    if (!fs::exists(file)) continue;
    const Pdq256 expected = Pdq256::from_hex(hex);
    const Image full = read_image(file);
    const PdqResult f = pdq_hash(full.pixels.data(), full.width, full.height, 4);
    worst_full = std::max(worst_full, hamming(f.hash, expected));
    EXPECT_LE(hamming(f.hash, expected), 10) << image << " (" << source << "), full size";
    const ReducedImage r = read_image_reduced(file);
    reduced_for_hashing += r.factor > 1;
    const PdqResult h = pdq_hash(r.image.pixels.data(), r.image.width, r.image.height, 4);
    worst_reduced = std::max(worst_reduced, hamming(h.hash, expected));
    EXPECT_LE(hamming(h.hash, expected), 10)
        << image << " (" << source << "), reduced by " << r.factor;
    ++compared;
  }
  std::cout << "[ info ] " << compared << " reference images; largest distance " << worst_full
            << " bits at full size, " << worst_reduced << " decoded for hashing\n";
  EXPECT_GE(compared, 15);
  EXPECT_GE(reduced_for_hashing, 1) << "some reference photo is over kHashDecodePixels";
}
