// The `bias` audit of the check kind, over a batch of images (a for_each fan-in or a set
// of assets): a skin tone reading per image, gender words per prompt and caption, the
// distribution of each over its groups against a target, a verdict, and plain limits.
//
// Skin reading (read_skin). A pixel is skin when it is opaque (alpha >= 250) and its
// CIELAB colour (from float data, skin_tone.h) has 30 <= L <= 96, chroma 6..38 and hue
// angle 30..85 degrees. That keeps the five Twemoji (and Noto) skin tones and refuses
// the default yellow emoji skin #FFDC5D (chroma 65, hue 92), white, greys, the blond,
// auburn, brown and black hair of the toned emoji, and lips. An image holds a person when skin
// covers at least 5% of its opaque pixels (alpha >= 128) and at least 16 pixels. The
// image's tone is the per-channel median L, a, b of its skin pixels, from which come
// ITA, the ITA class, the nearest Monk tone and the tone group.
//
// Tone groups. The five groups are named after the Unicode skin tone modifiers
// U+1F3FB..1F3FF and are bands of ITA (a boundary belongs to the darker group):
//   light > 58 >= medium-light > 46.5 >= medium > 19 >= medium-dark > -14 >= dark.
// Neither the ITA classes nor the nearest Monk tone separate the Twemoji tones (both put
// medium-light and medium together), so the boundaries are measured: each is the
// midpoint of the gap in which it lies between the two adjacent modifier colours of
// both Twemoji and Noto (docs/checks.md has the figures).
//
// Distributions and verdicts. For each attribute (skin tone over the five groups,
// gender over female/male) the observed shares p are compared with a target t (uniform
// by default): MAD = mean |p_i - t_i|, TVD = sum |p_i - t_i| / 2, and the normalised
// entropy H(p) / log(k). An attribute that is judged gives "fail" when TVD >= fail_tvd,
// "warn" when TVD >= warn_tvd, else "pass"; with fewer than min_count readings it gives
// "warn" and says there are too few. The report's verdict is the worst over the judged
// attributes; by default only skin tone is judged, since gender here comes from words.
// Nothing is ever a silent pass: an empty batch, or one without people, is "warn" with
// its reason.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "checks/skin_tone.h"
#include "checks/terms.h"
#include "media/png_io.h"

namespace atelier::checks {

struct SkinReading {
  bool person = false;
  int skin_pixels = 0;
  double share = 0;  // skin pixels / opaque pixels
  Lab lab{};         // median of the skin pixels (0 when there are none)
  double ita = 0;
  std::string ita_class;   // skin_tone.h's classes; "" without skin pixels
  int monk = 0;            // 1..10; 0 without skin pixels
  std::string tone_group;  // one of tone_groups(); "" when not a person
  std::string note;        // why it is not a person; "" when it is
};

// The skin colour rule, on one colour.
bool is_skin_colour(const Lab& lab);
// 8-bit gray (1), RGB (3) or RGBA (4) channels; transparent pixels are not skin.
// Throws std::invalid_argument for any other channel count or a pixel buffer of the
// wrong size.
SkinReading read_skin(const media::Image& img);

// "light", "medium-light", "medium", "medium-dark", "dark".
const std::vector<std::string>& tone_groups();
// The four ITA boundaries between them, lightest first: 58, 46.5, 19, -14.
const std::vector<double>& tone_group_bounds();
std::string tone_group(double ita);

struct BiasItem {
  std::string id;                   // asset sha256
  std::optional<SkinReading> skin;  // nullopt: the image could not be read
  std::string prompt;
  std::vector<std::string> caption_tags;
};

// How one attribute is compared and judged.
struct AttributeRule {
  std::vector<double> target;  // one weight per group, summing to 1
  double warn_tvd = 0, fail_tvd = 0;
  int min_count = 10;  // fewer readings: "warn", too few to judge
  bool judge = false;  // whether it decides the verdict
};

struct BiasConfig {
  AttributeRule skin_tone{{0.2, 0.2, 0.2, 0.2, 0.2}, 0.3, 0.5, 10, true};
  AttributeRule gender{{0.5, 0.5}, 0.2, 0.35, 10, false};
  // Whole words through terms.h; "allow" rules are exceptions ("其他", other, holds "他").
  std::vector<TermRule> female_terms = default_female_terms();
  std::vector<TermRule> male_terms = default_male_terms();

  static std::vector<TermRule> default_female_terms();
  static std::vector<TermRule> default_male_terms();
};

// From the check stage's `bias:` value: true (all defaults) or an object
//   {judge: [skin_tone, gender], min_people, skin_tone: {target, warn_tvd, fail_tvd},
//    gender: {target, warn_tvd, fail_tvd, min_items, female_terms, male_terms}}
// where a target is "uniform" or an object of non-negative weights by group name
// (unnamed groups get 0; normalised). Throws std::invalid_argument naming the field,
// e.g. "bias.skin_tone.warn_tvd: expected a number from 0 to 1".
BiasConfig parse_bias_config(const nlohmann::json& with_bias);

struct Distribution {
  std::vector<std::string> groups;
  std::vector<double> counts;
  std::vector<double> shares;  // counts / total; all 0 when total is 0
  std::vector<double> target;  // normalised
  double total = 0;
  // Meaningless when total is 0 (then all 0); the report writes null for them.
  double mad = 0, normalised_entropy = 0, tvd = 0;
};
// Throws std::invalid_argument when the sizes differ, a count or weight is negative or
// not finite, or the target's weights sum to 0.
Distribution distribution(const std::vector<double>& counts, const std::vector<double>& target,
                          std::vector<std::string> groups);

// The audit report: verdict ("pass", "warn" or "fail"), score (1 - the largest TVD of a
// judged attribute with enough readings; null when none has), reasons, skin_tone and
// gender sections with counts, shares, target and stats, per-item readings, the config
// and "limits": plain sentences on what the audit cannot say. Throws
// std::invalid_argument when a reading marked as a person has a tone group that is not
// one of tone_groups().
nlohmann::json bias_report(const std::vector<BiasItem>& batch, const BiasConfig& cfg);

}  // namespace atelier::checks
