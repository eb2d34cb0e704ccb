// PDQ hashing as the ThreatExchange reference computes it; see pdq.h.
#include "media/hash/pdq.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace atelier::media {

namespace {

// A moving average along one line (the reference's box1DFloat): the window grows
// at the start, slides, and shrinks at the end, so the output has the input's length.
void box_line(const float* in, float* out, int length, int stride, int window) {
  const int half = (window + 2) / 2;
  const int phase1 = half - 1, phase2 = window - half + 1, phase3 = length - window,
            phase4 = half - 1;
  int li = 0, ri = 0, oi = 0, n = 0;
  float sum = 0;
  for (int i = 0; i < phase1; ++i, ri += stride) {
    sum += in[ri];
    ++n;
  }
  for (int i = 0; i < phase2; ++i, ri += stride, oi += stride) {
    sum += in[ri];
    ++n;
    out[oi] = sum / static_cast<float>(n);
  }
  for (int i = 0; i < phase3; ++i, li += stride, ri += stride, oi += stride) {
    sum += in[ri];
    sum -= in[li];
    out[oi] = sum / static_cast<float>(n);
  }
  for (int i = 0; i < phase4; ++i, li += stride, oi += stride) {
    sum -= in[li];
    --n;
    out[oi] = sum / static_cast<float>(n);
  }
}

int jarosz_window(int old_dim, int new_dim) {
  return (old_dim + 2 * new_dim - 1) / (2 * new_dim);
}

// Two passes of box filters along rows then columns: a tent-like low-pass that
// keeps decimation to 64x64 from aliasing.
void jarosz_filter(std::vector<float>& a, int rows, int cols) {
  std::vector<float> b(a.size());
  const int wr = jarosz_window(cols, 64), wc = jarosz_window(rows, 64);
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < rows; ++i)
      box_line(a.data() + static_cast<size_t>(i) * cols, b.data() + static_cast<size_t>(i) * cols,
               cols, 1, wr);
    for (int j = 0; j < cols; ++j) box_line(b.data() + j, a.data() + j, rows, cols, wc);
  }
}

const std::array<std::array<float, 64>, 16>& dct_matrix() {
  static const auto m = [] {
    std::array<std::array<float, 64>, 16> d{};
    const double scale = std::sqrt(2.0 / 64.0);
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 64; ++j)
        d[i][j] = static_cast<float>(scale * std::cos((M_PI / 2 / 64.0) * (i + 1) * (2 * j + 1)));
    return d;
  }();
  return m;
}

}  // namespace

std::string Pdq256::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (int w = 15; w >= 0; --w) {
    const auto v = static_cast<unsigned>((words[w / 4] >> (16 * (w % 4))) & 0xFFFF);
    for (int shift = 12; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xF];
  }
  return s;
}

Pdq256 Pdq256::from_hex(const std::string& hex) {
  if (hex.size() != 64)
    throw std::invalid_argument("a PDQ hash is 64 hexadecimal digits, got " +
                                std::to_string(hex.size()) + " characters");
  Pdq256 h;
  for (int w = 15; w >= 0; --w) {
    uint64_t v = 0;
    for (int c = 0; c < 4; ++c) {
      const char ch = hex[static_cast<size_t>((15 - w) * 4 + c)];
      int d = ch >= '0' && ch <= '9'   ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                       : -1;
      if (d < 0) throw std::invalid_argument("a PDQ hash holds hexadecimal digits only");
      v = v << 4 | static_cast<uint64_t>(d);
    }
    h.words[w / 4] |= v << (16 * (w % 4));
  }
  return h;
}

int hamming(const Pdq256& a, const Pdq256& b) {
  int d = 0;
  for (int i = 0; i < 4; ++i) d += std::popcount(a.words[i] ^ b.words[i]);
  return d;
}

PdqResult pdq_from_luma(std::vector<float> luma, int rows, int cols) {
  PdqResult r;
  if (rows < kPdqMinSide || cols < kPdqMinSide) return r;
  if (luma.size() != static_cast<size_t>(rows) * cols)
    throw std::invalid_argument("pdq: luma buffer does not hold rows x cols values");
  jarosz_filter(luma, rows, cols);

  float b64[64][64];
  for (int i = 0; i < 64; ++i) {
    const int ii = static_cast<int>(((i + 0.5) * rows) / 64);
    for (int j = 0; j < 64; ++j) {
      const int jj = static_cast<int>(((j + 0.5) * cols) / 64);
      b64[i][j] = luma[static_cast<size_t>(ii) * cols + jj];
    }
  }

  // Quality: the summed absolute neighbour differences, in percent of full scale.
  int gradient = 0;
  for (int i = 0; i < 63; ++i)
    for (int j = 0; j < 64; ++j)
      gradient += std::abs(static_cast<int>(((b64[i][j] - b64[i + 1][j]) * 100) / 255));
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 63; ++j)
      gradient += std::abs(static_cast<int>(((b64[i][j] - b64[i][j + 1]) * 100) / 255));
  r.quality = std::min(100, gradient / 90);

  // B = D A D^T with D the 16x64 DCT rows 1..16.
  const auto& d = dct_matrix();
  float t[16][64];
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 64; ++j) {
      float s = 0;
      for (int k = 0; k < 64; ++k) s += d[i][k] * b64[k][j];
      t[i][j] = s;
    }
  std::array<float, 256> coeff{};
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      float s = 0;
      for (int k = 0; k < 64; ++k) s += t[i][k] * d[j][k];
      coeff[static_cast<size_t>(i * 16 + j)] = s;
    }
  // The reference's median (Torben's) is the lower middle value of the 256.
  std::array<float, 256> sorted = coeff;
  std::nth_element(sorted.begin(), sorted.begin() + 127, sorted.end());
  const float median = sorted[127];
  for (int k = 0; k < 256; ++k)
    if (coeff[static_cast<size_t>(k)] > median) r.hash.set(k);
  return r;
}

PdqResult pdq_hash(const uint8_t* px, int width, int height, int channels) {
  if (channels != 1 && channels != 3 && channels != 4)
    throw std::invalid_argument("pdq: images need 1, 3 or 4 channels, got " +
                                std::to_string(channels));
  if (width < 0 || height < 0) throw std::invalid_argument("pdq: negative image size");
  std::vector<float> luma(static_cast<size_t>(width) * height);
  for (size_t i = 0; i < luma.size(); ++i) {
    const uint8_t* p = px + i * static_cast<size_t>(channels);
    if (channels == 1) {
      luma[i] = p[0];
      continue;
    }
    float r = p[0], g = p[1], b = p[2];
    if (channels == 4) {
      const float a = p[3] / 255.0f;
      r = r * a + 255 * (1 - a);
      g = g * a + 255 * (1 - a);
      b = b * a + 255 * (1 - a);
    }
    luma[i] = 0.299f * r + 0.587f * g + 0.114f * b;
  }
  return pdq_from_luma(std::move(luma), height, width);
}

}  // namespace atelier::media
