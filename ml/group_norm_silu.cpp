// Fused GroupNorm(+SiLU) for channels-last inference; see group_norm_silu.h.
// Built with -O3 -fno-trapping-math (CMakeLists.txt), without which gcc leaves the
// SiLU loop scalar, and with an AVX2 clone of the inner loops chosen at load time
// on CPUs that have it (and an AVX-512 one, x86-64-v4, where libtorch uses
// AVX-512 too; without it the kernel lost to libtorch on small maps).
#include "ml/group_norm_silu.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace atelier::ml {

namespace {

// exp(x) for x in float range, in a form the compiler vectorises: range
// reduction by n = round(x / ln 2), a degree-6 polynomial on the remainder
// (Cephes' expf coefficients), and 2^n built in the exponent bits.
inline float exp_poly(float x) {
  // Ternaries rather than std::min/max: with -fno-trapping-math they become
  // vector min/max; NaN passes through as NaN.
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Per-channel sums over `pixels` rows of `C` floats.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void channel_sums(
    const float* x, int64_t pixels, int64_t C, double* sum, double* sumsq, float* s, float* q) {
  // Float partials over blocks of 64 rows keep the inner loop vectorised; the
  // doubles carry the total so large maps lose no precision.
  for (int64_t p0 = 0; p0 < pixels; p0 += 64) {
    const int64_t p1 = std::min(pixels, p0 + 64);
    std::fill(s, s + C, 0.0f);
    std::fill(q, q + C, 0.0f);
    for (int64_t p = p0; p < p1; ++p) {
      const float* row = x + p * C;
      for (int64_t c = 0; c < C; ++c) {
        s[c] += row[c];
        q[c] += row[c] * row[c];
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      sum[c] += s[c];
      sumsq[c] += q[c];
    }
  }
}

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void apply_rows(
    const float* x, float* y, int64_t pixels, int64_t C, const float* scale, const float* shift,
    bool silu) {
  for (int64_t p = 0; p < pixels; ++p) {
    const float* in = x + p * C;
    float* out = y + p * C;
    if (silu) {
      for (int64_t c = 0; c < C; ++c) {
        const float v = in[c] * scale[c] + shift[c];
        out[c] = v / (1.0f + exp_poly(-v));
      }
    } else {
      for (int64_t c = 0; c < C; ++c) out[c] = in[c] * scale[c] + shift[c];
    }
  }
}

}  // namespace

torch::Tensor group_norm_silu(const torch::Tensor& x, torch::nn::GroupNorm& norm, bool silu) {
  const auto& o = norm->options;
  const bool fits = !at::GradMode::is_enabled() && x.dim() == 4 &&
                    x.scalar_type() == torch::kFloat32 && x.device().is_cpu() &&
                    x.is_contiguous(at::MemoryFormat::ChannelsLast) && o.affine() &&
                    norm->weight.scalar_type() == torch::kFloat32;
  if (!fits) return silu ? torch::silu(norm(x)) : norm(x);
  const int64_t B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), G = o.num_groups();
  const int64_t per = C / G;
  auto y = torch::empty_like(x, at::MemoryFormat::ChannelsLast);
  const auto gamma = norm->weight.contiguous(), beta = norm->bias.contiguous();
  const float* gp = gamma.data_ptr<float>();
  const float* bp = beta.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const double eps = o.eps();
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> sum(static_cast<size_t>(C)), sumsq(static_cast<size_t>(C));
    std::vector<float> s(static_cast<size_t>(C)), q(static_cast<size_t>(C)),
        scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
    for (int64_t b = b0; b < b1; ++b) {
      const float* xb = xp + b * HW * C;
      std::fill(sum.begin(), sum.end(), 0.0);
      std::fill(sumsq.begin(), sumsq.end(), 0.0);
      channel_sums(xb, HW, C, sum.data(), sumsq.data(), s.data(), q.data());
      for (int64_t g = 0; g < G; ++g) {
        double m = 0, m2 = 0;
        for (int64_t c = g * per; c < (g + 1) * per; ++c) {
          m += sum[static_cast<size_t>(c)];
          m2 += sumsq[static_cast<size_t>(c)];
        }
        const double n = static_cast<double>(HW * per);
        m /= n;
        const double var = std::max(0.0, m2 / n - m * m);
        const double rstd = 1.0 / std::sqrt(var + eps);
        for (int64_t c = g * per; c < (g + 1) * per; ++c) {
          const double sc = gp[c] * rstd;
          scale[static_cast<size_t>(c)] = static_cast<float>(sc);
          shift[static_cast<size_t>(c)] = static_cast<float>(bp[c] - m * sc);
        }
      }
      apply_rows(xb, yp + b * HW * C, HW, C, scale.data(), shift.data(), silu);
    }
  });
  return y;
}

}  // namespace atelier::ml
