// The plan of a `video` job, pure and testable without FFmpeg: the validated
// parameters, the output size of each aspect, and the frame timeline (when each
// image shows, where the transitions fall, when each text overlay is on).
//
// Invariants: every size is even (yuv420p needs it) and within 16..4096; the
// transition is shorter than half an image's time, so at most two images are on
// screen at any frame; the timeline is in whole frames, and its length is
// images * per_image - (images - 1) * transition frames, which is what ffprobe
// reports as the duration (within one frame).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace atelier::media {

struct Aspect {
  std::string label;  // as written: "16:9", "1080x1920"
  int width = 0, height = 0;
};

enum class Fit { cover, contain, contain_blur };

enum class Motion { none, zoom_in, zoom_out, pan_left, pan_right, pan_up, pan_down };

struct KenBurns {
  Motion motion = Motion::none;
  double amount = 0.12;  // zoom: the scale change over an image; pan: share of the width/height
};

struct Transition {
  std::string type = "fade";  // an xfade transition, or "cut"
  double seconds = 0.5;
};

enum class Position { top, center, bottom };

struct TextOverlay {
  std::string role;  // title, subtitle, cta, caption
  std::string text;  // UTF-8, shown literally
  Position position = Position::bottom;
  double start = 0;  // seconds from the start of the video
  double end = -1;   // seconds; < 0: to the end
  double size = 0;   // font size as a share of the frame height; 0: the role's default
  std::string color = "white";
  bool box = true;
  std::string box_color = "black@0.55";
};

struct Rgb {
  unsigned char r = 255, g = 255, b = 255;
};

struct VideoParams {
  std::vector<Aspect> aspects;
  Rgb background;  // behind transparent pixels and around contained images
  int fps = 30;
  double seconds_per_image = 3;
  Fit fit = Fit::cover;
  KenBurns ken_burns;
  Transition transition;
  std::vector<TextOverlay> overlays;  // title, subtitle, cta
  std::vector<std::string> captions;  // one per image ("" for none); may be empty
  TextOverlay caption_style;          // position, size, colours for captions
  double audio_volume = 1.0;
  double audio_fade_out = 1.0;  // seconds
  std::string preset = "veryfast";
  int crf = 23;
};

// Sizes by label: 16:9 1920x1080, 9:16 1080x1920, 1:1 1080x1080, 4:5 1080x1350;
// "WxH" as given. Throws std::invalid_argument naming the value.
Aspect parse_aspect(const std::string& label);

// The xfade transitions FFmpeg 5.1 has, plus "cut".
const std::vector<std::string>& transition_types();

// Reads `with:` params for `images` images. Throws std::invalid_argument whose
// message starts with the param's name ("aspects[1]: ...").
VideoParams parse_video_params(const nlohmann::json& p, size_t images);

struct Timeline {
  int64_t per_image = 0;       // frames each image is on screen, transitions included
  int64_t transition = 0;      // frames two images overlap (0: cuts)
  int64_t total = 0;           // frames in the video
  std::vector<int64_t> start;  // first frame of image i
  int64_t end(size_t i) const { return start[i] + per_image; }  // one past the last
  double seconds(int fps) const { return static_cast<double>(total) / fps; }
};

Timeline make_timeline(size_t images, const VideoParams& p);

// An overlay's frames [first, last) on the timeline; captions follow their image
// (from the end of the transition into it to the start of the one out of it).
struct OverlayWindow {
  int64_t first = 0, last = 0;
};
OverlayWindow overlay_window(const TextOverlay& o, const Timeline& t, int fps);
OverlayWindow caption_window(size_t image, const Timeline& t);

// Font size in pixels for an overlay in a frame whose shorter side is `side` pixels.
int font_pixels(const TextOverlay& o, int side);

// Ken Burns: the canvas an image is fitted to (larger than the frame when there is
// motion, so the moving window always shows real pixels; sizes even), and the
// window of the canvas that frame u (0 = the image's first frame, 1 = its last)
// shows, scaled to the frame. Zooms stay centred; pans keep the other axis centred.
struct Window {
  double x = 0, y = 0, w = 0, h = 0;
};
std::pair<int, int> canvas_size(const KenBurns& kb, int width, int height);
Window ken_burns_window(const KenBurns& kb, int canvas_w, int canvas_h, int width, int height,
                        double u);

// Breaks `text` into lines that fit `max_width` pixels at `font_px`, estimating
// widths from the characters (CJK and other wide characters one em, Latin about
// 0.55 em): spaces break Latin text, and CJK text breaks between any two
// characters. Existing newlines are kept.
std::vector<std::string> wrap_text(const std::string& text, int font_px, int max_width);

}  // namespace atelier::media
