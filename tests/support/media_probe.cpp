// See media_probe.h.
#include "support/media_probe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "media/png_io.h"

namespace atelier::test {

namespace fs = std::filesystem;
using nlohmann::json;

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

json ffprobe(const fs::path& f) {
  return json::parse(run_capture(
      "ffprobe -v error -print_format json -show_streams -show_format '" + f.string() + "'"));
}

std::vector<uint8_t> frame_at(const fs::path& f, double seconds, int w, int h) {
  char t[32];
  std::snprintf(t, sizeof t, "%.3f", seconds);
  std::string raw = run_capture("ffmpeg -v error -ss " + std::string(t) + " -i '" + f.string() +
                                "' -frames:v 1 -f rawvideo -pix_fmt rgb24 -");
  EXPECT_EQ(raw.size(), static_cast<size_t>(w) * h * 3) << "frame at " << t << " of " << f;
  return std::vector<uint8_t>(raw.begin(), raw.end());
}

std::vector<std::vector<uint8_t>> all_frames(const fs::path& f, int w, int h) {
  const std::string raw =
      run_capture("ffmpeg -v error -i '" + f.string() + "' -f rawvideo -pix_fmt rgb24 -");
  const size_t size = static_cast<size_t>(w) * h * 3;
  EXPECT_EQ(raw.size() % size, 0u) << f << " decodes to a partial frame";
  std::vector<std::vector<uint8_t>> frames;
  for (size_t at = 0; at + size <= raw.size(); at += size)
    frames.emplace_back(raw.begin() + static_cast<std::ptrdiff_t>(at),
                        raw.begin() + static_cast<std::ptrdiff_t>(at + size));
  return frames;
}

std::array<double, 3> mean_rgb(const std::vector<uint8_t>& px) {
  std::array<double, 3> m{0, 0, 0};
  for (size_t i = 0; i + 2 < px.size(); i += 3)
    for (int c = 0; c < 3; ++c) m[c] += px[i + c];
  for (auto& v : m) v /= std::max<size_t>(1, px.size() / 3);
  return m;
}

std::vector<std::string> top_atoms(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  std::vector<std::string> out;
  for (;;) {
    unsigned char hdr[8];
    if (!in.read(reinterpret_cast<char*>(hdr), 8)) break;
    uint64_t size = (uint64_t(hdr[0]) << 24) | (hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
    out.emplace_back(reinterpret_cast<char*>(hdr + 4), 4);
    if (size == 1) {
      unsigned char ext[8];
      in.read(reinterpret_cast<char*>(ext), 8);
      size = 0;
      for (unsigned char b : ext) size = (size << 8) | b;
      in.seekg(static_cast<std::streamoff>(size - 16), std::ios::cur);
    } else {
      if (size < 8) break;
      in.seekg(static_cast<std::streamoff>(size - 8), std::ios::cur);
    }
  }
  return out;
}

void write_solid_png(const fs::path& f, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  media::Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  for (int i = 0; i < w * h; ++i) img.pixels.insert(img.pixels.end(), {r, g, b});
  auto bytes = media::encode_png(img);
  fs::create_directories(f.parent_path());
  std::ofstream(f, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void write_tone_wav(const fs::path& f, double seconds, int rate) {
  const uint32_t n = static_cast<uint32_t>(seconds * rate);
  std::string d;
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) d += char((v >> (8 * i)) & 0xFF);
  };
  auto u16 = [&](uint16_t v) {
    d += char(v & 0xFF);
    d += char(v >> 8);
  };
  d += "RIFF";
  u32(36 + n * 4);
  d += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(2);
  u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate) * 4);
  u16(4);
  u16(16);
  d += "data";
  u32(n * 4);
  for (uint32_t i = 0; i < n; ++i) {
    const auto s = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * i / rate));
    u16(static_cast<uint16_t>(s));
    u16(static_cast<uint16_t>(s));
  }
  std::ofstream(f, std::ios::binary) << d;
}

}  // namespace atelier::test
