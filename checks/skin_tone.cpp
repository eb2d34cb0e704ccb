// CIELAB, ITA and the Monk scale; see skin_tone.h.
#include "checks/skin_tone.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace atelier::checks {

namespace {

// D65 white point (2 degree observer), as sRGB defines it.
constexpr double kXn = 0.95047, kYn = 1.0, kZn = 1.08883;

double linear(double c) {
  return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}
double gamma(double c) {
  return c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1 / 2.4) - 0.055;
}
double f(double t) {
  constexpr double d = 6.0 / 29;
  return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29;
}
double f_inv(double t) {
  constexpr double d = 6.0 / 29;
  return t > d ? t * t * t : 3 * d * d * (t - 4.0 / 29);
}

Lab hex_to_lab(const char* hex) {
  const long v = std::strtol(hex + 1, nullptr, 16);
  return srgb_to_lab(((v >> 16) & 0xFF) / 255.0, ((v >> 8) & 0xFF) / 255.0, (v & 0xFF) / 255.0);
}

}  // namespace

Lab srgb_to_lab(double r, double g, double b) {
  r = linear(r);
  g = linear(g);
  b = linear(b);
  const double x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
  const double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
  const double fx = f(x / kXn), fy = f(y / kYn), fz = f(z / kZn);
  return {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
}

std::array<double, 3> lab_to_srgb(const Lab& lab) {
  const double fy = (lab.L + 16) / 116, fx = fy + lab.a / 500, fz = fy - lab.b / 200;
  const double x = kXn * f_inv(fx), y = kYn * f_inv(fy), z = kZn * f_inv(fz);
  const double r = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const double g = -0.9692660 * x + 1.8760108 * y + 0.0415560 * z;
  const double b = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  auto out = [](double c) { return std::clamp(gamma(std::clamp(c, 0.0, 1.0)), 0.0, 1.0); };
  return {out(r), out(g), out(b)};
}

double ita_degrees(const Lab& lab) {
  return std::atan2(lab.L - 50, lab.b) * 180 / M_PI;
}

ItaClass ita_class(double ita) {
  if (ita > 55) return ItaClass::very_light;
  if (ita > 41) return ItaClass::light;
  if (ita > 28) return ItaClass::intermediate;
  if (ita > 10) return ItaClass::tan;
  if (ita > -30) return ItaClass::brown;
  return ItaClass::dark;
}

std::string to_string(ItaClass c) {
  switch (c) {
    case ItaClass::very_light:
      return "very light";
    case ItaClass::light:
      return "light";
    case ItaClass::intermediate:
      return "intermediate";
    case ItaClass::tan:
      return "tan";
    case ItaClass::brown:
      return "brown";
    case ItaClass::dark:
      return "dark";
  }
  return "?";
}

const std::array<const char*, 10>& monk_colours() {
  static const std::array<const char*, 10> c = {"#f6ede4", "#f3e7db", "#f7ead0", "#eadaba",
                                                "#d7bd96", "#a07e56", "#825c43", "#604134",
                                                "#3a312a", "#292420"};
  return c;
}

int nearest_monk_tone(const Lab& lab) {
  static const auto refs = [] {
    std::array<Lab, 10> r;
    for (size_t i = 0; i < r.size(); ++i) r[i] = hex_to_lab(monk_colours()[i]);
    return r;
  }();
  int best = 1;
  double best_d = 1e300;
  for (size_t i = 0; i < refs.size(); ++i) {
    const double d = std::hypot(lab.L - refs[i].L, lab.a - refs[i].a, lab.b - refs[i].b);
    if (d < best_d) best_d = d, best = static_cast<int>(i) + 1;
  }
  return best;
}

}  // namespace atelier::checks
