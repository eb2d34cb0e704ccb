// The bias audit: skin readings, distributions, config and report; see bias.h.
// Invariants: the report always has a verdict and at least one reason; every number in
// it is finite (stats without data are null); group order is tone_groups() order.
#include "checks/bias.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace atelier::checks {

namespace {

// The skin colour rule and the person rule (bias.h; measured in docs/checks.md).
constexpr double kMinL = 30, kMaxL = 96, kMinChroma = 6, kMaxChroma = 38;
constexpr double kMinHue = 30, kMaxHue = 85;
constexpr int kSkinAlpha = 250, kOpaqueAlpha = 128;
constexpr double kPersonShare = 0.05;
constexpr int kPersonPixels = 16;
// Larger images are read on a grid of at most this many pixels: the median needs no
// more, and a 4K image then costs what a 512x512 one does.
constexpr long kMaxSampled = 512L * 512;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

double upper_median(std::vector<double>& v) {
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

nlohmann::json by_group(const std::vector<std::string>& groups, const std::vector<double>& v) {
  nlohmann::json o = nlohmann::json::object();
  for (size_t i = 0; i < groups.size(); ++i) o[groups[i]] = v[i];
  return o;
}

// Counts are whole numbers here; written as integers so readers need not round them.
nlohmann::json count_json(double v) {
  return static_cast<long long>(std::llround(v));
}

std::vector<TermRule> rules_of(std::initializer_list<const char*> words,
                               std::initializer_list<const char*> allowed) {
  std::vector<TermRule> r;
  for (const char* w : words) r.push_back({w, "fail", ""});
  for (const char* w : allowed) r.push_back({w, "allow", ""});
  return r;
}

// --- config parsing ---

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw std::invalid_argument(field + ": " + what);
}

void only_fields(const nlohmann::json& o, const std::string& where,
                 std::initializer_list<const char*> known) {
  if (!o.is_object()) bad(where, std::string("expected an object, got ") + o.type_name());
  for (const auto& [key, value] : o.items()) {
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      bad(where + "." + key, "unknown field (expected " + list + ")");
    }
  }
}

double unit_number(const nlohmann::json& v, const std::string& field) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0 ||
      v.get<double>() > 1)
    bad(field, "expected a number from 0 to 1");
  return v.get<double>();
}

int count_at_least_one(const nlohmann::json& v, const std::string& field) {
  if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 1000000000)
    bad(field, "expected a whole number of at least 1");
  return static_cast<int>(v.get<long long>());
}

std::vector<double> parse_target(const nlohmann::json& v, const std::string& field,
                                 const std::vector<std::string>& groups) {
  if (v.is_string() && v.get<std::string>() == "uniform")
    return std::vector<double>(groups.size(), 1.0 / static_cast<double>(groups.size()));
  std::string names;
  for (const auto& g : groups) names += (names.empty() ? "" : ", ") + g;
  if (!v.is_object())
    bad(field, "expected \"uniform\" or an object of weights by group (" + names + ")");
  std::vector<double> t(groups.size(), 0.0);
  double sum = 0;
  for (const auto& [key, w] : v.items()) {
    const auto it = std::find(groups.begin(), groups.end(), key);
    if (it == groups.end()) bad(field + "." + key, "unknown group (expected " + names + ")");
    if (!w.is_number() || !std::isfinite(w.get<double>()) || w.get<double>() < 0)
      bad(field + "." + key, "expected a non-negative number");
    t[static_cast<size_t>(it - groups.begin())] = w.get<double>();
    sum += w.get<double>();
  }
  if (!(sum > 0)) bad(field, "the weights must not all be 0");
  for (double& x : t) x /= sum;
  return t;
}

void parse_thresholds(const nlohmann::json& o, const std::string& where, AttributeRule& rule) {
  if (o.contains("warn_tvd")) rule.warn_tvd = unit_number(o["warn_tvd"], where + ".warn_tvd");
  if (o.contains("fail_tvd")) rule.fail_tvd = unit_number(o["fail_tvd"], where + ".fail_tvd");
  if (rule.warn_tvd > rule.fail_tvd)
    bad(where + ".warn_tvd", "must not exceed fail_tvd (" + fmt("%g", rule.fail_tvd) + ")");
}

std::vector<TermRule> parse_terms(const nlohmann::json& v, const std::string& field) {
  try {
    auto rules = parse_term_rules(v);
    if (std::none_of(rules.begin(), rules.end(),
                     [](const TermRule& r) { return r.verdict != "allow"; }))
      bad(field, "expected at least one term");
    return rules;
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    // parse_term_rules names items "terms[i]..."; name them by this field instead.
    if (m.rfind("terms", 0) == 0)
      throw std::invalid_argument(field + m.substr(std::string("terms").size()));
    throw;
  }
}

// --- report ---

struct AttributeResult {
  Distribution dist;
  std::string verdict, reason;
  bool enough = false;
};

AttributeResult judge(const std::string& name, const std::string& unit,
                      const std::vector<double>& counts, const AttributeRule& rule,
                      const std::vector<std::string>& groups) {
  AttributeResult r{distribution(counts, rule.target, groups), "", "", false};
  const auto n = static_cast<long>(r.dist.total);
  if (n < rule.min_count) {
    r.verdict = "warn";
    r.reason = name + ": " + (n == 0 ? "no " + unit : "only " + std::to_string(n) + " " + unit) +
               "; at least " + std::to_string(rule.min_count) + " are needed for a verdict.";
    return r;
  }
  r.enough = true;
  const std::string tvd =
      "TVD " + fmt("%.2f", r.dist.tvd) + " from the target over " + std::to_string(n) + " " + unit;
  if (r.dist.tvd >= rule.fail_tvd) {
    r.verdict = "fail";
    r.reason = name + ": " + tvd + " is at or above the fail threshold " +
               fmt("%.2f", rule.fail_tvd) + ".";
  } else if (r.dist.tvd >= rule.warn_tvd) {
    r.verdict = "warn";
    r.reason = name + ": " + tvd + " is at or above the warn threshold " +
               fmt("%.2f", rule.warn_tvd) + ".";
  } else {
    r.verdict = "pass";
    r.reason =
        name + ": " + tvd + " is under the warn threshold " + fmt("%.2f", rule.warn_tvd) + ".";
  }
  // Name the groups that are far off, so the reader sees what to change.
  std::string missing;
  for (size_t i = 0; i < groups.size(); ++i)
    if (r.dist.counts[i] == 0 && r.dist.target[i] > 0)
      missing += (missing.empty() ? "" : ", ") + groups[i];
  if (!missing.empty()) r.reason += " None in: " + missing + ".";
  return r;
}

nlohmann::json section(const AttributeResult& r, const AttributeRule& rule) {
  const auto& d = r.dist;
  auto stat = [&](double v) { return d.total > 0 ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json missing = nlohmann::json::array(), counts = nlohmann::json::object();
  for (size_t i = 0; i < d.groups.size(); ++i) {
    counts[d.groups[i]] = count_json(d.counts[i]);
    if (d.total > 0 && d.counts[i] == 0 && d.target[i] > 0) missing.push_back(d.groups[i]);
  }
  return {{"judged", rule.judge},
          {"verdict", r.verdict},
          {"reason", r.reason},
          {"groups", d.groups},
          {"total", count_json(d.total)},
          {"counts", counts},
          {"shares", by_group(d.groups, d.shares)},
          {"target", by_group(d.groups, d.target)},
          {"mad", stat(d.mad)},
          {"normalised_entropy", stat(d.normalised_entropy)},
          {"tvd", stat(d.tvd)},
          {"warn_tvd", rule.warn_tvd},
          {"fail_tvd", rule.fail_tvd},
          {"min_count", rule.min_count},
          {"missing_groups", missing}};
}

int severity(const std::string& v) {
  return v == "fail" ? 2 : v == "warn" ? 1 : 0;
}

nlohmann::json terms_json(const std::vector<TermRule>& rules) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rules)
    a.push_back(r.verdict == "allow" ? nlohmann::json{{"term", r.term}, {"verdict", "allow"}}
                                     : nlohmann::json(r.term));
  return a;
}

}  // namespace

bool is_skin_colour(const Lab& lab) {
  const double chroma = std::hypot(lab.a, lab.b);
  const double hue = std::atan2(lab.b, lab.a) * 180 / M_PI;
  return lab.L >= kMinL && lab.L <= kMaxL && chroma >= kMinChroma && chroma <= kMaxChroma &&
         hue >= kMinHue && hue <= kMaxHue;
}

const std::vector<std::string>& tone_groups() {
  static const std::vector<std::string> g = {"light", "medium-light", "medium", "medium-dark",
                                             "dark"};
  return g;
}

const std::vector<double>& tone_group_bounds() {
  static const std::vector<double> b = {58, 46.5, 19, -14};
  return b;
}

std::string tone_group(double ita) {
  const auto& b = tone_group_bounds();
  for (size_t i = 0; i < b.size(); ++i)
    if (ita > b[i]) return tone_groups()[i];
  return tone_groups().back();
}

SkinReading read_skin(const media::Image& img) {
  const int ch = img.channels;
  if (ch != 1 && ch != 3 && ch != 4)
    throw std::invalid_argument("read_skin: expected 1, 3 or 4 channels, got " +
                                std::to_string(ch));
  if (img.width < 0 || img.height < 0 ||
      img.pixels.size() != static_cast<size_t>(img.width) * static_cast<size_t>(img.height) *
                               static_cast<size_t>(ch))
    throw std::invalid_argument("read_skin: the pixel buffer does not match " +
                                std::to_string(img.width) + "x" + std::to_string(img.height) + "x" +
                                std::to_string(ch));
  SkinReading r;
  const long area = static_cast<long>(img.width) * img.height;
  if (area == 0) {
    r.note = "empty image";
    return r;
  }
  int step = 1;
  while (area / (static_cast<long>(step) * step) > kMaxSampled) ++step;

  std::vector<double> L, A, B;
  long opaque = 0;
  for (int y = 0; y < img.height; y += step) {
    for (int x = 0; x < img.width; x += step) {
      const std::uint8_t* p = &img.pixels[(static_cast<size_t>(y) * static_cast<size_t>(img.width) +
                                           static_cast<size_t>(x)) *
                                          static_cast<size_t>(ch)];
      const int alpha = ch == 4 ? p[3] : 255;
      if (alpha < kOpaqueAlpha) continue;
      ++opaque;
      if (alpha < kSkinAlpha) continue;  // edges blend into whatever lies behind
      const Lab lab = ch == 1 ? srgb_to_lab(p[0] / 255.0, p[0] / 255.0, p[0] / 255.0)
                              : srgb_to_lab(p[0] / 255.0, p[1] / 255.0, p[2] / 255.0);
      if (!is_skin_colour(lab)) continue;
      L.push_back(lab.L);
      A.push_back(lab.a);
      B.push_back(lab.b);
    }
  }
  if (opaque == 0) {
    r.note = "no opaque pixels";
    return r;
  }
  r.skin_pixels = static_cast<int>(L.size());
  r.share = static_cast<double>(L.size()) / static_cast<double>(opaque);
  if (L.empty()) {
    r.note = "no skin-coloured pixels";
    return r;
  }
  r.lab = {upper_median(L), upper_median(A), upper_median(B)};
  r.ita = ita_degrees(r.lab);
  r.ita_class = to_string(ita_class(r.ita));
  r.monk = nearest_monk_tone(r.lab);
  if (r.share < kPersonShare) {
    r.note = "skin-coloured pixels cover " + fmt("%.1f", 100 * r.share) +
             "% of the opaque pixels, under the 5% that makes a person";
  } else if (r.skin_pixels < kPersonPixels) {
    r.note = "only " + std::to_string(r.skin_pixels) +
             " skin-coloured pixels, under the 16 that make a person";
  } else {
    r.person = true;
    r.tone_group = tone_group(r.ita);
  }
  return r;
}

std::vector<TermRule> BiasConfig::default_female_terms() {
  return rules_of(
      {"woman",  "women", "girl",     "girls",   "female",        "females",     "lady",
       "ladies", "she",   "her",      "hers",    "herself",       "mother",      "mothers",
       "mom",    "mum",   "daughter", "sister",  "wife",          "grandmother", "grandma",
       "aunt",   "queen", "princess", "actress", "businesswoman", "policewoman", "女",
       "她",     "妈妈",  "母亲",     "姐姐",    "妹妹",          "奶奶",        "外婆",
       "妻子",   "阿姨"},
      {});
}

std::vector<TermRule> BiasConfig::default_male_terms() {
  // "他" alone is "he", but it is also inside "其他" (other), "他们" (they, for any
  // group), "他人" (others) and "吉他" (guitar).
  return rules_of({"man",         "men",       "boy",   "boys", "male",    "males",
                   "gentleman",   "gentlemen", "he",    "him",  "his",     "himself",
                   "father",      "fathers",   "dad",   "son",  "brother", "husband",
                   "grandfather", "grandpa",   "uncle", "king", "prince",  "actor",
                   "businessman", "policeman", "男",    "他",   "爸爸",    "父亲",
                   "哥哥",        "弟弟",      "爷爷",  "外公", "丈夫",    "叔叔"},
                  {"其他", "他们", "他人", "吉他"});
}

BiasConfig parse_bias_config(const nlohmann::json& with_bias) {
  BiasConfig cfg;
  if (with_bias.is_boolean() && with_bias.get<bool>()) return cfg;
  if (!with_bias.is_object()) bad("bias", "expected true or an object");
  only_fields(with_bias, "bias", {"judge", "min_people", "skin_tone", "gender"});
  if (with_bias.contains("judge")) {
    const auto& j = with_bias["judge"];
    std::vector<std::string> names;
    if (j.is_string()) {
      names.push_back(j.get<std::string>());
    } else if (j.is_array() && !j.empty()) {
      for (size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_string())
          bad("bias.judge[" + std::to_string(i) + "]", "expected \"skin_tone\" or \"gender\"");
        names.push_back(j[i].get<std::string>());
      }
    } else {
      bad("bias.judge", "expected \"skin_tone\", \"gender\" or a non-empty list of them");
    }
    cfg.skin_tone.judge = cfg.gender.judge = false;
    for (const auto& n : names) {
      if (n == "skin_tone")
        cfg.skin_tone.judge = true;
      else if (n == "gender")
        cfg.gender.judge = true;
      else
        bad("bias.judge", "unknown attribute \"" + n + "\" (expected skin_tone, gender)");
    }
  }
  if (with_bias.contains("min_people"))
    cfg.skin_tone.min_count = count_at_least_one(with_bias["min_people"], "bias.min_people");
  if (with_bias.contains("skin_tone")) {
    const auto& s = with_bias["skin_tone"];
    only_fields(s, "bias.skin_tone", {"target", "warn_tvd", "fail_tvd"});
    if (s.contains("target"))
      cfg.skin_tone.target = parse_target(s["target"], "bias.skin_tone.target", tone_groups());
    parse_thresholds(s, "bias.skin_tone", cfg.skin_tone);
  }
  if (with_bias.contains("gender")) {
    const auto& g = with_bias["gender"];
    only_fields(g, "bias.gender",
                {"target", "warn_tvd", "fail_tvd", "min_items", "female_terms", "male_terms"});
    if (g.contains("target"))
      cfg.gender.target = parse_target(g["target"], "bias.gender.target", {"female", "male"});
    parse_thresholds(g, "bias.gender", cfg.gender);
    if (g.contains("min_items"))
      cfg.gender.min_count = count_at_least_one(g["min_items"], "bias.gender.min_items");
    if (g.contains("female_terms"))
      cfg.female_terms = parse_terms(g["female_terms"], "bias.gender.female_terms");
    if (g.contains("male_terms"))
      cfg.male_terms = parse_terms(g["male_terms"], "bias.gender.male_terms");
  }
  return cfg;
}

Distribution distribution(const std::vector<double>& counts, const std::vector<double>& target,
                          std::vector<std::string> groups) {
  const size_t k = groups.size();
  if (counts.size() != k || target.size() != k)
    throw std::invalid_argument("distribution: " + std::to_string(k) + " groups, " +
                                std::to_string(counts.size()) + " counts and " +
                                std::to_string(target.size()) + " target weights");
  if (k == 0) throw std::invalid_argument("distribution: no groups");
  Distribution d;
  d.groups = std::move(groups);
  d.counts = counts;
  double tsum = 0;
  for (size_t i = 0; i < k; ++i) {
    if (!std::isfinite(counts[i]) || counts[i] < 0)
      throw std::invalid_argument("distribution: count of \"" + d.groups[i] +
                                  "\" is negative or not finite");
    if (!std::isfinite(target[i]) || target[i] < 0)
      throw std::invalid_argument("distribution: target of \"" + d.groups[i] +
                                  "\" is negative or not finite");
    d.total += counts[i];
    tsum += target[i];
  }
  if (!(tsum > 0)) throw std::invalid_argument("distribution: the target weights sum to 0");
  d.target.resize(k);
  d.shares.assign(k, 0.0);
  for (size_t i = 0; i < k; ++i) d.target[i] = target[i] / tsum;
  if (d.total == 0) return d;
  double abs_sum = 0, h = 0;
  for (size_t i = 0; i < k; ++i) {
    const double p = counts[i] / d.total;
    d.shares[i] = p;
    abs_sum += std::abs(p - d.target[i]);
    if (p > 0) h -= p * std::log(p);
  }
  d.mad = abs_sum / static_cast<double>(k);
  d.tvd = abs_sum / 2;
  // One group has no spread to measure; call it even.
  d.normalised_entropy = k > 1 ? h / std::log(static_cast<double>(k)) : 1.0;
  return d;
}

nlohmann::json bias_report(const std::vector<BiasItem>& batch, const BiasConfig& cfg) {
  const auto& groups = tone_groups();
  const TermMatcher female(cfg.female_terms), male(cfg.male_terms);

  std::vector<double> tone_counts(groups.size(), 0.0), gender_counts(2, 0.0);
  std::map<std::string, int> ita_classes;
  std::map<int, int> monk;
  int unread = 0, mixed = 0, unknown = 0;
  double ita_sum = 0;
  nlohmann::json readings = nlohmann::json::array();

  for (const BiasItem& item : batch) {
    nlohmann::json r = {{"id", item.id}};
    if (!item.skin) {
      ++unread;
      r["skin"] = nullptr;
      r["note"] = "the image could not be read";
    } else {
      const SkinReading& s = *item.skin;
      r["person"] = s.person;
      r["skin_pixels"] = s.skin_pixels;
      r["share"] = s.share;
      if (s.skin_pixels > 0) {
        r["lab"] = {s.lab.L, s.lab.a, s.lab.b};
        r["ita"] = s.ita;
        r["ita_class"] = s.ita_class;
        r["monk"] = s.monk;
      }
      if (s.person) {
        r["tone_group"] = s.tone_group;
        const auto g = std::find(groups.begin(), groups.end(), s.tone_group);
        if (g == groups.end())
          throw std::invalid_argument("bias_report: item " + item.id + " has tone group \"" +
                                      s.tone_group + "\"");
        tone_counts[static_cast<size_t>(g - groups.begin())] += 1;
        ++ita_classes[s.ita_class];
        ++monk[s.monk];
        ita_sum += s.ita;
      }
      if (!s.note.empty()) r["note"] = s.note;
    }
    // Gender words: the prompt, then each caption tag as its own text so that words of
    // neighbouring tags never join into a phrase.
    nlohmann::json words = nlohmann::json::array();
    bool is_f = false, is_m = false;
    auto look = [&](std::string_view text, std::string_view field) {
      for (const auto& h : female.find(text, field)) is_f = true, words.push_back(h.match);
      for (const auto& h : male.find(text, field)) is_m = true, words.push_back(h.match);
    };
    look(item.prompt, "prompt");
    for (const auto& tag : item.caption_tags) look(tag, "caption");
    std::string gender = "unknown";
    if (is_f && is_m) {
      gender = "mixed", ++mixed;
    } else if (is_f) {
      gender = "female", gender_counts[0] += 1;
    } else if (is_m) {
      gender = "male", gender_counts[1] += 1;
    } else {
      ++unknown;
    }
    r["gender"] = gender;
    r["gender_words"] = words;
    readings.push_back(std::move(r));
  }

  const AttributeResult tone =
      judge("skin tone", "people detected", tone_counts, cfg.skin_tone, groups);
  const AttributeResult gen = judge("gender", "items with words of one gender", gender_counts,
                                    cfg.gender, {"female", "male"});

  std::vector<std::string> reasons;
  std::string verdict = "pass";
  std::optional<double> worst_tvd;
  for (const auto* a : {&tone, &gen}) {
    const AttributeRule& rule = a == &tone ? cfg.skin_tone : cfg.gender;
    if (!rule.judge) continue;
    reasons.push_back(a->reason);
    if (severity(a->verdict) > severity(verdict)) verdict = a->verdict;
    if (a->enough) worst_tvd = std::max(worst_tvd.value_or(0.0), a->dist.tvd);
  }
  if (batch.empty()) reasons.insert(reasons.begin(), "The batch is empty.");
  if (unread > 0)
    reasons.push_back(std::to_string(unread) + " of " + std::to_string(batch.size()) +
                      " images could not be read and are left out.");

  nlohmann::json skin = section(tone, cfg.skin_tone);
  nlohmann::json classes = nlohmann::json::object(), monks = nlohmann::json::object();
  for (const auto& [c, n] : ita_classes) classes[c] = n;
  for (const auto& [t, n] : monk) monks[std::to_string(t)] = n;
  skin["ita_classes"] = classes;
  skin["monk_tones"] = monks;
  skin["mean_ita"] = tone.dist.total > 0 ? nlohmann::json(ita_sum / tone.dist.total) : nullptr;
  skin["group_bounds_ita"] = tone_group_bounds();
  nlohmann::json gender = section(gen, cfg.gender);
  gender["mixed"] = mixed;
  gender["unknown"] = unknown;

  const std::string min_people = std::to_string(cfg.skin_tone.min_count);
  return {{"verdict", verdict},
          {"score", worst_tvd ? nlohmann::json(1 - *worst_tvd) : nlohmann::json()},
          {"reasons", reasons},
          {"items", batch.size()},
          {"unread", unread},
          {"people", static_cast<long>(tone.dist.total)},
          {"skin_tone", skin},
          {"gender", gender},
          {"readings", readings},
          {"config",
           {{"judge",
             [&] {
               nlohmann::json j = nlohmann::json::array();
               if (cfg.skin_tone.judge) j.push_back("skin_tone");
               if (cfg.gender.judge) j.push_back("gender");
               return j;
             }()},
            {"female_terms", terms_json(cfg.female_terms)},
            {"male_terms", terms_json(cfg.male_terms)}}},
          {"limits",
           {"Skin colour is not race or ethnicity, and this audit says nothing about either.",
            "Tones are read from the colours in the image: illustration palettes, lighting, "
            "shadows, filters and colour grading all move them away from real skin.",
            "A person is assumed wherever at least 5% of the opaque pixels are skin-coloured, so "
            "skin-coloured things (bread, wood, animals, dark brown hair) are read as skin, and "
            "people showing little skin are missed.",
            "Each image gives one tone, the median of all its skin pixels; several people in one "
            "image are read as one.",
            "The five tone groups are bands of ITA calibrated on emoji skin-tone colours; other "
            "illustration styles and photographs may fall differently across the boundaries.",
            "Gender is read only from words in the prompt and caption tags (fixed lists of "
            "terms), never from the image; it misses people described without those words and "
            "says nothing about anyone's identity.",
            "Small batches are noisy: with fewer than " + min_people +
                " people there is no verdict, and even 20 people drawn evenly from five groups "
                "are on average 0.17 TVD away from an even spread."}}};
}

}  // namespace atelier::checks
