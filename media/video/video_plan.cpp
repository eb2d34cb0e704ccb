// Parameters, sizes and the frame timeline of a video; see video_plan.h.
#include "media/video/video_plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "kinds/video.h"

namespace atelier::media {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument(field + ": " + why);
}

std::string type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "true/false";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a mapping";
  return "null";
}

double number(const json& p, const std::string& key, double def, double lo, double hi,
              const std::string& field) {
  if (!p.contains(key)) return def;
  const json& v = p.at(key);
  if (!v.is_number()) bad(field, "must be a number, got " + type_name(v));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad(field,
        "must be between " + json(lo).dump() + " and " + json(hi).dump() + ", got " + v.dump());
  return x;
}

// The video kind's declaration (kinds/video.cpp) holds the scalar bounds and
// defaults; these messages keep this parser's "field: why" form.
const ParamSpec& declared(const char* key) {
  return *video_kind().spec().param(key);
}

double declared_number(const json& p, const char* key) {
  const ParamSpec& d = declared(key);
  return number(p, key, d.default_value.get<double>(), d.min, d.max, key);
}

std::string string(const json& p, const std::string& key, const std::string& def,
                   const std::string& field) {
  if (!p.contains(key)) return def;
  const json& v = p.at(key);
  if (!v.is_string()) bad(field, "must be a string, got " + type_name(v));
  return v.get<std::string>();
}

bool boolean(const json& p, const std::string& key, bool def, const std::string& field) {
  if (!p.contains(key)) return def;
  const json& v = p.at(key);
  if (!v.is_boolean()) bad(field, "must be true or false, got " + type_name(v));
  return v.get<bool>();
}

void only_keys(const json& o, std::initializer_list<const char*> keys, const std::string& field) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; })) {
      std::string list;
      for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      bad(field + "." + it.key(), "unknown key (known: " + list + ")");
    }
  }
}

Position parse_position(const std::string& s, const std::string& field) {
  if (s == "top") return Position::top;
  if (s == "center" || s == "centre" || s == "middle") return Position::center;
  if (s == "bottom") return Position::bottom;
  bad(field, "must be top, center or bottom, got '" + s + "'");
}

// Colours as drawtext reads them: a name or #RRGGBB, with an optional @alpha.
std::string parse_colour(const std::string& s, const std::string& field) {
  const auto at = s.find('@');
  const std::string base = s.substr(0, at);
  bool ok = !base.empty();
  if (ok && base[0] == '#') {
    ok = (base.size() == 7 || base.size() == 9) &&
         std::all_of(base.begin() + 1, base.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  } else {
    ok = ok && std::all_of(base.begin(), base.end(),
                           [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  }
  if (ok && at != std::string::npos) {
    try {
      size_t used = 0;
      const double a = std::stod(s.substr(at + 1), &used);
      ok = used == s.size() - at - 1 && a >= 0 && a <= 1;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok)
    bad(field, "'" + s + "' is not a colour (a name like white, or #RRGGBB, optionally @0.5)");
  return s;
}

void parse_text_style(const json& o, TextOverlay& t, const std::string& field) {
  if (o.contains("position"))
    t.position =
        parse_position(string(o, "position", "", field + ".position"), field + ".position");
  t.start = number(o, "start", t.start, 0, 86400, field + ".start");
  t.end = number(o, "end", t.end, -1, 86400, field + ".end");
  t.size = number(o, "size", t.size, 0, 0.5, field + ".size");
  t.color = parse_colour(string(o, "color", t.color, field + ".color"), field + ".color");
  t.box = boolean(o, "box", t.box, field + ".box");
  t.box_color =
      parse_colour(string(o, "box_color", t.box_color, field + ".box_color"), field + ".box_color");
}

TextOverlay parse_overlay(const json& v, const std::string& role, const VideoParams& p) {
  TextOverlay t;
  t.role = role;
  // Role defaults: the title and subtitle over the first image, the call to
  // action over the last one.
  if (role == "title") {
    t.position = Position::top;
    t.end = p.seconds_per_image;
  } else if (role == "subtitle") {
    t.position = Position::center;
    t.end = p.seconds_per_image;
  } else {
    t.position = Position::bottom;
    t.start = -1;  // resolved against the timeline: the last image's start
  }
  if (v.is_string()) {
    t.text = v.get<std::string>();
  } else if (v.is_object()) {
    only_keys(v, {"text", "position", "start", "end", "size", "color", "box", "box_color"}, role);
    if (!v.contains("text")) bad(role + ".text", "is required");
    t.text = string(v, "text", "", role + ".text");
    parse_text_style(v, t, role);
  } else {
    bad(role,
        "must be a string or a mapping with text, position, start, end, size, color, box, "
        "box_color; got " +
            type_name(v));
  }
  if (t.text.empty()) bad(role + ".text", "is empty");
  if (t.text.size() > 2000) bad(role + ".text", "is longer than 2000 bytes");
  if (t.end >= 0 && t.start >= 0 && t.end <= t.start) bad(role + ".end", "must be after start");
  return t;
}

}  // namespace

Aspect parse_aspect(const std::string& label) {
  Aspect a;
  a.label = label;
  if (label == "16:9") {
    a.width = 1920, a.height = 1080;
  } else if (label == "9:16") {
    a.width = 1080, a.height = 1920;
  } else if (label == "1:1") {
    a.width = 1080, a.height = 1080;
  } else if (label == "4:5") {
    a.width = 1080, a.height = 1350;
  } else {
    const auto x = label.find('x');
    auto whole = [](const std::string& s) {
      return !s.empty() && s.size() <= 5 &&
             std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (x == std::string::npos || !whole(label.substr(0, x)) || !whole(label.substr(x + 1)))
      throw std::invalid_argument("'" + label +
                                  "' is not an aspect (16:9, 9:16, 1:1, 4:5 or WIDTHxHEIGHT)");
    a.width = std::stoi(label.substr(0, x));
    a.height = std::stoi(label.substr(x + 1));
  }
  if (a.width < 16 || a.height < 16 || a.width > 4096 || a.height > 4096)
    throw std::invalid_argument("'" + label + "': width and height must be 16..4096");
  if (a.width % 2 || a.height % 2)
    throw std::invalid_argument("'" + label + "': width and height must be even (yuv420p)");
  return a;
}

const std::vector<std::string>& transition_types() {
  static const std::vector<std::string> types = {
      "cut",       "fade",       "wipeleft",   "wiperight",   "wipeup",     "wipedown",
      "slideleft", "slideright", "slideup",    "slidedown",   "circlecrop", "rectcrop",
      "distance",  "fadeblack",  "fadewhite",  "radial",      "smoothleft", "smoothright",
      "smoothup",  "smoothdown", "circleopen", "circleclose", "vertopen",   "vertclose",
      "horzopen",  "horzclose",  "dissolve",   "pixelize",    "diagtl",     "diagtr",
      "diagbl",    "diagbr",     "hlslice",    "hrslice",     "vuslice",    "vdslice",
      "hblur",     "fadegrays",  "wipetl",     "wipetr",      "wipebl",     "wipebr",
      "squeezeh",  "squeezev"};
  return types;
}

VideoParams parse_video_params(const json& p, size_t images) {
  VideoParams v;
  if (!p.is_object()) bad("with", "must be a mapping");
  if (images == 0) bad("images", "no images to show (the stage has no image inputs)");

  const json aspects = p.value("aspects", json::array({"16:9", "9:16", "1:1"}));
  const json list = aspects.is_string() ? json::array({aspects}) : aspects;
  if (!list.is_array() || list.empty())
    bad("aspects", "must be a non-empty list like [16:9, 9:16, 1:1]");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = "aspects[" + std::to_string(i) + "]";
    if (!list[i].is_string()) bad(field, "must be a string, got " + type_name(list[i]));
    try {
      v.aspects.push_back(parse_aspect(list[i].get<std::string>()));
    } catch (const std::invalid_argument& e) {
      bad(field, e.what());
    }
    for (size_t j = 0; j + 1 < v.aspects.size(); ++j)
      if (v.aspects[j].width == v.aspects.back().width &&
          v.aspects[j].height == v.aspects.back().height)
        bad(field, "repeats the size of aspects[" + std::to_string(j) + "]");
  }

  v.fps = static_cast<int>(declared_number(p, "fps"));
  if (p.contains("fps") && p["fps"].get<double>() != v.fps) bad("fps", "must be a whole number");
  v.seconds_per_image = declared_number(p, "seconds_per_image");

  const std::string fit = string(p, "fit", declared("fit").default_value.get<std::string>(), "fit");
  if (fit == "cover")
    v.fit = Fit::cover;
  else if (fit == "contain")
    v.fit = Fit::contain;
  else if (fit == "contain-blur" || fit == "contain_blur")
    v.fit = Fit::contain_blur;
  else
    bad("fit", "must be cover, contain or contain-blur, got '" + fit + "'");

  if (p.contains("ken_burns")) {
    const json& kb = p["ken_burns"];
    std::string motion;
    if (kb.is_boolean()) {
      motion = kb.get<bool>() ? "zoom_in" : "none";
    } else if (kb.is_string()) {
      motion = kb.get<std::string>();
    } else if (kb.is_object()) {
      only_keys(kb, {"motion", "amount"}, "ken_burns");
      motion = string(kb, "motion", "zoom_in", "ken_burns.motion");
      v.ken_burns.amount = number(kb, "amount", v.ken_burns.amount, 0.01, 0.5, "ken_burns.amount");
    } else {
      bad("ken_burns", "must be true/false, a motion or {motion, amount}; got " + type_name(kb));
    }
    static const std::vector<std::pair<std::string, Motion>> motions = {
        {"none", Motion::none},           {"zoom_in", Motion::zoom_in},
        {"zoom_out", Motion::zoom_out},   {"pan_left", Motion::pan_left},
        {"pan_right", Motion::pan_right}, {"pan_up", Motion::pan_up},
        {"pan_down", Motion::pan_down}};
    auto it =
        std::find_if(motions.begin(), motions.end(), [&](auto& m) { return m.first == motion; });
    if (it == motions.end())
      bad(kb.is_object() ? "ken_burns.motion" : "ken_burns",
          "'" + motion +
              "' is not a motion (zoom_in, zoom_out, pan_left, pan_right, pan_up, pan_down, none)");
    v.ken_burns.motion = it->second;
  }

  bool seconds_given = false;
  if (p.contains("transition")) {
    const json& t = p["transition"];
    if (t.is_string()) {
      v.transition.type = t.get<std::string>();
    } else if (t.is_object()) {
      only_keys(t, {"type", "seconds"}, "transition");
      v.transition.type = string(t, "type", "fade", "transition.type");
      v.transition.seconds = number(t, "seconds", 0.5, 0, 600, "transition.seconds");
      seconds_given = t.contains("seconds");
    } else {
      bad("transition", "must be a type or {type, seconds}; got " + type_name(t));
    }
    if (v.transition.type == "none") v.transition.type = "cut";
    const auto& types = transition_types();
    if (std::find(types.begin(), types.end(), v.transition.type) == types.end())
      bad(t.is_object() ? "transition.type" : "transition",
          "'" + v.transition.type +
              "' is not a transition (fade, wipeleft, slideup, circleopen, "
              "dissolve, ... or cut; docs/video.md lists them)");
  }
  if (v.transition.type == "cut") v.transition.seconds = 0;
  // The default length gives way to short images; a length asked for does not.
  if (!seconds_given)
    v.transition.seconds = std::min(v.transition.seconds, v.seconds_per_image / 2);
  if (2 * v.transition.seconds > v.seconds_per_image + 1e-9)
    bad("transition.seconds", "must be at most half of seconds_per_image");

  for (const std::string role : {"title", "subtitle", "cta"}) {
    const std::string style = role + "_style";
    if (!p.contains(role) || p[role].is_null()) {
      if (p.contains(style)) bad(style, "given without " + role);
      continue;
    }
    TextOverlay t = parse_overlay(p[role], role, v);
    if (p.contains(style)) {
      const json& s = p[style];
      if (!s.is_object()) bad(style, "must be a mapping");
      only_keys(s, {"position", "start", "end", "size", "color", "box", "box_color"}, style);
      parse_text_style(s, t, style);
      if (t.end >= 0 && t.start >= 0 && t.end <= t.start)
        bad(style + ".end", "must be after start");
    }
    v.overlays.push_back(std::move(t));
  }

  v.caption_style.role = "caption";
  v.caption_style.position = Position::bottom;
  if (p.contains("caption_style")) {
    const json& s = p["caption_style"];
    if (!s.is_object()) bad("caption_style", "must be a mapping");
    only_keys(s, {"position", "size", "color", "box", "box_color"}, "caption_style");
    parse_text_style(s, v.caption_style, "caption_style");
  }
  if (p.contains("captions") && !p["captions"].is_null()) {
    const json& c = p["captions"];
    if (!c.is_array()) bad("captions", "must be a list of strings, one per image");
    if (c.size() > images)
      bad("captions",
          std::to_string(c.size()) + " captions for " + std::to_string(images) + " images");
    for (size_t i = 0; i < c.size(); ++i) {
      if (!c[i].is_string() && !c[i].is_null())
        bad("captions[" + std::to_string(i) + "]", "must be a string");
      v.captions.push_back(c[i].is_string() ? c[i].get<std::string>() : "");
      if (v.captions.back().size() > 2000)
        bad("captions[" + std::to_string(i) + "]", "is longer than 2000 bytes");
    }
  }

  if (p.contains("background")) {
    const std::string c = string(p, "background", "", "background");
    auto hex = [&](size_t i) {
      return static_cast<unsigned char>(std::stoi(c.substr(i, 2), nullptr, 16));
    };
    if (c == "white")
      v.background = {255, 255, 255};
    else if (c == "black")
      v.background = {0, 0, 0};
    else if (c.size() == 7 && c[0] == '#' && std::all_of(c.begin() + 1, c.end(), [](char x) {
               return std::isxdigit(static_cast<unsigned char>(x));
             }))
      v.background = {hex(1), hex(3), hex(5)};
    else
      bad("background", "'" + c + "' is not white, black or #RRGGBB");
  }
  v.audio_volume = declared_number(p, "audio_volume");
  v.audio_fade_out = declared_number(p, "audio_fade_out");

  const std::vector<std::string>& presets = declared("preset").one_of;
  v.preset = string(p, "preset", declared("preset").default_value.get<std::string>(), "preset");
  if (std::find(presets.begin(), presets.end(), v.preset) == presets.end())
    bad("preset", "'" + v.preset + "' is not a libx264 preset (ultrafast ... veryslow)");
  v.crf = static_cast<int>(declared_number(p, "crf"));
  return v;
}

Timeline make_timeline(size_t images, const VideoParams& p) {
  Timeline t;
  t.per_image = std::max<int64_t>(1, std::llround(p.seconds_per_image * p.fps));
  t.transition = p.transition.type == "cut" ? 0 : std::llround(p.transition.seconds * p.fps);
  t.transition = std::min(t.transition, t.per_image / 2);
  const auto n = static_cast<int64_t>(images);
  for (int64_t i = 0; i < n; ++i) t.start.push_back(i * (t.per_image - t.transition));
  t.total = n == 0 ? 0 : n * t.per_image - (n - 1) * t.transition;
  return t;
}

OverlayWindow overlay_window(const TextOverlay& o, const Timeline& t, int fps) {
  OverlayWindow w;
  w.first = o.start < 0 ? (t.start.empty() ? 0 : t.start.back()) : std::llround(o.start * fps);
  w.last = o.end < 0 ? t.total : std::llround(o.end * fps);
  w.first = std::clamp<int64_t>(w.first, 0, t.total);
  w.last = std::clamp<int64_t>(w.last, w.first, t.total);
  return w;
}

OverlayWindow caption_window(size_t image, const Timeline& t) {
  OverlayWindow w;
  w.first = t.start[image] + (image > 0 ? t.transition : 0);
  w.last = t.end(image) - (image + 1 < t.start.size() ? t.transition : 0);
  return w;
}

std::pair<int, int> canvas_size(const KenBurns& kb, int width, int height) {
  if (kb.motion == Motion::none) return {width, height};
  auto grow = [&](int side) {
    const int s = static_cast<int>(std::ceil(side * (1 + kb.amount)));
    return s + (s % 2);
  };
  return {grow(width), grow(height)};
}

Window ken_burns_window(const KenBurns& kb, int canvas_w, int canvas_h, int width, int height,
                        double u) {
  u = std::clamp(u, 0.0, 1.0);
  const double cw = canvas_w, ch = canvas_h;
  Window w{0, 0, cw, ch};
  switch (kb.motion) {
    case Motion::none:
      break;
    case Motion::zoom_in:
    case Motion::zoom_out: {
      // From the whole canvas to a frame-sized window (zoom in) or back.
      const double t = kb.motion == Motion::zoom_in ? u : 1 - u;
      const double z = 1 + (cw / width - 1) * t;
      w.w = cw / z;
      w.h = ch / z;
      w.x = (cw - w.w) / 2;
      w.y = (ch - w.h) / 2;
      break;
    }
    case Motion::pan_left:
    case Motion::pan_right:
    case Motion::pan_up:
    case Motion::pan_down: {
      w.w = width;
      w.h = height;
      w.x = (cw - width) / 2;
      w.y = (ch - height) / 2;
      if (kb.motion == Motion::pan_left) w.x = (cw - width) * (1 - u);
      if (kb.motion == Motion::pan_right) w.x = (cw - width) * u;
      if (kb.motion == Motion::pan_up) w.y = (ch - height) * (1 - u);
      if (kb.motion == Motion::pan_down) w.y = (ch - height) * u;
      break;
    }
  }
  return w;
}

int font_pixels(const TextOverlay& o, int height) {
  double share = o.size;
  if (share <= 0) {
    if (o.role == "title")
      share = 0.075;
    else if (o.role == "subtitle")
      share = 0.05;
    else if (o.role == "cta")
      share = 0.06;
    else
      share = 0.042;
  }
  return std::max(8, static_cast<int>(std::lround(share * height)));
}

namespace {

// Decodes one UTF-8 code point at s[i], advancing i; invalid bytes read as U+FFFD.
char32_t next_code_point(const std::string& s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t c = len == 1 ? b : b & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const auto cb = static_cast<unsigned char>(s[i + k]);
    if ((cb >> 6) != 2) {
      ++i;
      return 0xFFFD;
    }
    c = (c << 6) | (cb & 0x3F);
  }
  i += static_cast<size_t>(len);
  return c;
}

bool wide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
         (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1FAFF) ||
         (c >= 0x20000 && c <= 0x3FFFD);
}

double em_width(char32_t c) {
  if (c == ' ') return 0.3;
  if (wide(c)) return 1.0;
  if (c == 'm' || c == 'w' || c == 'M' || c == 'W') return 0.85;
  if (c >= 'A' && c <= 'Z') return 0.68;
  return 0.55;
}

}  // namespace

std::vector<std::string> wrap_text(const std::string& text, int font_px, int max_width) {
  std::vector<std::string> lines;
  const double max_em = std::max(1.0, static_cast<double>(max_width) / std::max(1, font_px));
  size_t para_start = 0;
  while (para_start <= text.size()) {
    size_t nl = text.find('\n', para_start);
    if (nl == std::string::npos) nl = text.size();
    const std::string para = text.substr(para_start, nl - para_start);
    // Tokens: a run of narrow non-space characters, one space, or one wide character.
    struct Token {
      std::string s;
      double w = 0;
      bool space = false, wide = false;
    };
    std::vector<Token> tokens;
    for (size_t i = 0; i < para.size();) {
      const size_t from = i;
      const char32_t c = next_code_point(para, i);
      const std::string piece = para.substr(from, i - from);
      if (c == ' ' || c == '\t') {
        tokens.push_back({" ", em_width(' '), true, false});
      } else if (wide(c) || tokens.empty() || tokens.back().space || tokens.back().wide) {
        tokens.push_back({piece, em_width(c), false, wide(c)});
      } else {
        tokens.back().s += piece;
        tokens.back().w += em_width(c);
      }
    }
    std::string line;
    double w = 0;
    auto flush = [&] {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      lines.push_back(line);
      line.clear();
      w = 0;
    };
    for (auto& t : tokens) {
      if (t.space) {
        if (!line.empty() && w + t.w <= max_em) {
          line += ' ';
          w += t.w;
        }
        continue;
      }
      if (w + t.w > max_em && !line.empty()) flush();
      if (t.w <= max_em) {
        line += t.s;
        w += t.w;
        continue;
      }
      // A word wider than a line: break it between characters.
      for (size_t i = 0; i < t.s.size();) {
        const size_t from = i;
        const char32_t c = next_code_point(t.s, i);
        if (w + em_width(c) > max_em && !line.empty()) flush();
        line += t.s.substr(from, i - from);
        w += em_width(c);
      }
    }
    flush();
    para_start = nl + 1;
  }
  return lines;
}

}  // namespace atelier::media
