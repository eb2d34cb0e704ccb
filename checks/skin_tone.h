// Skin tone measures for the bias audit, pure and testable: sRGB (8-bit or float)
// to CIELAB (D65, L in 0..100, computed in double precision), the Individual
// Typology Angle ITA = atan((L - 50) / b) in degrees, its six classes (Chardon et
// al.: very light > 55, light > 41, intermediate > 28, tan > 10, brown > -30, dark),
// and the nearest of the ten Monk Skin Tone scale colours by CIE76 delta E.
//
// Invariants: every boundary belongs to the darker class (55 is light, not very
// light); Monk tones are numbered 1 (lightest) to 10; ITA uses atan2 so b = 0 gives
// +-90 degrees rather than a division by zero.
#pragma once
#include <array>
#include <string>

namespace atelier::checks {

struct Lab {
  double L = 0, a = 0, b = 0;
};

// sRGB components in 0..1 (gamma-encoded).
Lab srgb_to_lab(double r, double g, double b);
// The inverse, clamped to 0..1 (colours outside the sRGB gamut are clipped).
std::array<double, 3> lab_to_srgb(const Lab& lab);

double ita_degrees(const Lab& lab);

enum class ItaClass { very_light, light, intermediate, tan, brown, dark };
ItaClass ita_class(double ita_degrees);
std::string to_string(ItaClass c);

// The Monk Skin Tone scale's reference colours, tone 1 first, as "#rrggbb".
const std::array<const char*, 10>& monk_colours();
// 1..10.
int nearest_monk_tone(const Lab& lab);

}  // namespace atelier::checks
