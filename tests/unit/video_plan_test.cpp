// The video kind's pure parts: aspects and params with their errors, the frame
// timeline, overlay windows, Ken Burns windows, text wrapping and layout, the
// filter plan and its CLI string, and the audio track's shaping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "media/video/audio_track.h"
#include "media/video/filter_plan.h"
#include "media/video/video_plan.h"

using namespace atelier::media;
using nlohmann::json;

namespace {
std::string error_of(const json& p, size_t images = 3) {
  try {
    parse_video_params(p, images);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(VideoPlan, AspectsByNameAndSize) {
  EXPECT_EQ(parse_aspect("16:9").width, 1920);
  EXPECT_EQ(parse_aspect("9:16").height, 1920);
  EXPECT_EQ(parse_aspect("1:1").width, 1080);
  auto a = parse_aspect("320x180");
  EXPECT_EQ(a.width, 320);
  EXPECT_EQ(a.height, 180);
  for (const char* bad : {"0:1", "21:9", "321x180", "16x9x", "x180", "8x8", "5000x100", ""})
    EXPECT_THROW(parse_aspect(bad), std::invalid_argument) << bad;
}

TEST(VideoPlan, ParamsDefaultsAndErrorsNameTheField) {
  auto v = parse_video_params(json::object(), 2);
  EXPECT_EQ(v.aspects.size(), 3u);
  EXPECT_EQ(v.fps, 30);
  EXPECT_EQ(v.transition.type, "fade");
  EXPECT_EQ(v.preset, "veryfast");
  EXPECT_EQ(error_of(json::object(), 0).rfind("images: ", 0), 0u);
  EXPECT_EQ(error_of({{"aspects", {"16:9", "0:1"}}}).rfind("aspects[1]: ", 0), 0u);
  EXPECT_EQ(error_of({{"aspects", {"16:9", "1920x1080"}}}).rfind("aspects[1]: repeats", 0), 0u);
  EXPECT_EQ(error_of({{"fps", 0}}).rfind("fps: ", 0), 0u);
  EXPECT_EQ(error_of({{"fps", 29.97}}).rfind("fps: must be a whole", 0), 0u);
  EXPECT_EQ(error_of({{"fit", "stretch"}}).rfind("fit: ", 0), 0u);
  EXPECT_EQ(error_of({{"transition", "spin"}}).rfind("transition: 'spin'", 0), 0u);
  EXPECT_EQ(error_of({{"transition", {{"type", "fade"}, {"seconds", 2}}}})
                .rfind("transition.seconds: must be at most half", 0),
            0u);
  EXPECT_EQ(error_of({{"transition", {{"kind", "fade"}}}}).rfind("transition.kind: unknown", 0),
            0u);
  EXPECT_EQ(error_of({{"ken_burns", "spin"}}).rfind("ken_burns: 'spin'", 0), 0u);
  EXPECT_EQ(error_of({{"captions", {"a", "b", "c", "d"}}}).rfind("captions: 4 captions", 0), 0u);
  EXPECT_EQ(error_of({{"title", "Hi"}, {"title_style", {{"color", "notacolour1"}}}})
                .rfind("title_style.color: ", 0),
            0u);
  EXPECT_EQ(error_of({{"title", ""}}).rfind("title.text: is empty", 0), 0u);
  EXPECT_EQ(
      error_of({{"subtitle_style", {{"size", 0.1}}}}).rfind("subtitle_style: given without", 0),
      0u);
  EXPECT_EQ(error_of({{"preset", "warp"}}).rfind("preset: ", 0), 0u);
  EXPECT_EQ(error_of({{"crf", 60}}).rfind("crf: ", 0), 0u);
  EXPECT_EQ(error_of({{"background", "teal"}}).rfind("background: ", 0), 0u);
  auto ok =
      parse_video_params({{"transition", "cut"},
                          {"ken_burns", {{"motion", "pan_left"}, {"amount", 0.2}}},
                          {"background", "#102030"},
                          {"title", "T"},
                          {"title_style", {{"color", "#FFCC00@0.8"}, {"position", "bottom"}}}},
                         2);
  EXPECT_EQ(ok.transition.seconds, 0);
  EXPECT_EQ(ok.ken_burns.motion, Motion::pan_left);
  EXPECT_EQ(ok.background.g, 0x20);
  EXPECT_EQ(ok.overlays.at(0).position, Position::bottom);
}

TEST(VideoPlan, TimelineOverlapsTransitionsAndCountsFrames) {
  auto p = parse_video_params(
      {{"fps", 30}, {"seconds_per_image", 3}, {"transition", {{"type", "fade"}, {"seconds", 0.5}}}},
      3);
  auto t = make_timeline(3, p);
  EXPECT_EQ(t.per_image, 90);
  EXPECT_EQ(t.transition, 15);
  EXPECT_EQ(t.start, (std::vector<int64_t>{0, 75, 150}));
  EXPECT_EQ(t.total, 240);
  EXPECT_DOUBLE_EQ(t.seconds(30), 8.0);
  // Captions stay clear of the transitions; the title defaults to the first
  // image, the call to action to the last.
  EXPECT_EQ(caption_window(0, t).first, 0);
  EXPECT_EQ(caption_window(0, t).last, 75);
  EXPECT_EQ(caption_window(1, t).first, 90);
  EXPECT_EQ(caption_window(1, t).last, 150);
  auto q = parse_video_params({{"title", "T"}, {"cta", "Buy"}}, 3);
  auto tq = make_timeline(3, q);
  EXPECT_EQ(overlay_window(q.overlays[0], tq, 30).first, 0);
  EXPECT_EQ(overlay_window(q.overlays[0], tq, 30).last, 90);
  EXPECT_EQ(overlay_window(q.overlays[1], tq, 30).first, tq.start[2]);
  EXPECT_EQ(overlay_window(q.overlays[1], tq, 30).last, tq.total);

  p.transition.type = "cut";
  p.transition.seconds = 0;
  auto c = make_timeline(3, p);
  EXPECT_EQ(c.total, 270);
  EXPECT_EQ(c.start[2], 180);
}

TEST(VideoPlan, KenBurnsWindowsMoveFromCanvasToFrame) {
  KenBurns kb{Motion::zoom_in, 0.2};
  auto [cw, ch] = canvas_size(kb, 1080, 1920);
  EXPECT_EQ(cw % 2, 0);
  EXPECT_GE(cw, 1296);
  auto w0 = ken_burns_window(kb, cw, ch, 1080, 1920, 0);
  EXPECT_DOUBLE_EQ(w0.w, cw);
  EXPECT_DOUBLE_EQ(w0.x, 0);
  auto w1 = ken_burns_window(kb, cw, ch, 1080, 1920, 1);
  EXPECT_NEAR(w1.w, 1080, 1e-9);
  EXPECT_NEAR(w1.x + w1.w / 2, cw / 2.0, 1e-9);  // centred
  kb.motion = Motion::pan_left;
  auto p0 = ken_burns_window(kb, cw, ch, 1080, 1920, 0),
       p1 = ken_burns_window(kb, cw, ch, 1080, 1920, 1);
  EXPECT_DOUBLE_EQ(p0.x, cw - 1080);
  EXPECT_DOUBLE_EQ(p1.x, 0);
  EXPECT_DOUBLE_EQ(p0.y, (ch - 1920) / 2.0);
  EXPECT_EQ(canvas_size(KenBurns{}, 640, 360), (std::pair<int, int>{640, 360}));
}

TEST(VideoPlan, WrapsLatinAtSpacesAndChineseAnywhere) {
  auto lines = wrap_text("Fresh fruit for every morning of the week", 20, 160);  // 8 em
  ASSERT_GT(lines.size(), 2u);
  for (const auto& l : lines) {
    EXPECT_NE(l.front(), ' ');
    EXPECT_NE(l.back(), ' ');
  }
  std::string joined;
  for (const auto& l : lines) joined += (joined.empty() ? "" : " ") + l;
  EXPECT_EQ(joined, "Fresh fruit for every morning of the week");
  // Ten CJK characters at one em each in a 4-em line: three lines.
  auto cjk = wrap_text("新鲜水果每天早上送达", 10, 40);
  ASSERT_EQ(cjk.size(), 3u);
  EXPECT_EQ(cjk[0], "新鲜水果");
  EXPECT_EQ(wrap_text("a\nb", 10, 400), (std::vector<std::string>{"a", "b"}));
  // A word longer than the line is split rather than overflowing.
  auto long_word = wrap_text(std::string(40, 'x'), 10, 100);
  EXPECT_GT(long_word.size(), 1u);
}

TEST(VideoPlan, LayoutStacksTextInsideTheFrame) {
  const std::string long_title(200, 'a');
  auto p = parse_video_params({{"title", long_title + " " + long_title.substr(0, 50)},
                               {"subtitle", "限时优惠 50% off \"today\" \\ only"},
                               {"cta", "Shop now"},
                               {"captions", {"one", "", "three"}}},
                              3);
  auto t = make_timeline(3, p);
  for (auto [w, h] : {std::pair{1920, 1080}, {1080, 1920}, {320, 180}}) {
    auto lines = layout_text(p, t, w, h);
    ASSERT_FALSE(lines.empty());
    int title_lines = 0;
    for (const auto& l : lines) {
      EXPECT_GE(l.y, 0);
      EXPECT_LE(l.y + l.font_px, h) << l.text;
      EXPECT_LT(l.window.first, l.window.last);
      if (l.window.first == 0 && l.y < h / 3) ++title_lines;
    }
    EXPECT_GT(title_lines, 1) << w << "x" << h;  // the 250-character title wraps
  }
}

TEST(VideoPlan, FilterPlanChainsTransitionsThenText) {
  auto p = parse_video_params({{"fps", 10},
                               {"seconds_per_image", 1},
                               {"transition", {{"type", "circleopen"}, {"seconds", 0.3}}},
                               {"title", "50% off: it's \\ [now], ok; yes"}},
                              3);
  auto t = make_timeline(3, p);
  auto lines = layout_text(p, t, 320, 180);
  auto plan = make_filter_plan(p, t, lines, "Noto Sans CJK SC");
  EXPECT_EQ(plan.sources, 3);
  ASSERT_GE(plan.nodes.size(), 4u);
  EXPECT_EQ(plan.nodes[0].filter, "xfade");
  EXPECT_EQ(plan.nodes[0].inputs, (std::vector<int>{-1, -2}));
  EXPECT_EQ(plan.nodes[1].inputs, (std::vector<int>{0, -3}));
  auto opt = [](const FilterNode& n, const std::string& k) {
    for (const auto& [key, v] : n.options)
      if (key == k) return v;
    return std::string("<none>");
  };
  EXPECT_EQ(opt(plan.nodes[0], "offset"), "0.700000000");
  EXPECT_EQ(opt(plan.nodes[1], "offset"), "1.400000000");
  EXPECT_EQ(opt(plan.nodes[0], "duration"), "0.300000000");
  EXPECT_EQ(opt(plan.nodes[2], "text"), "50% off: it's \\ [now], ok; yes");
  EXPECT_EQ(opt(plan.nodes[2], "expansion"), "none");
  EXPECT_EQ(plan.nodes.back().filter, "format");
  const std::string g = to_filtergraph_string(plan);
  EXPECT_NE(g.find("[s0][s1]xfade=transition=circleopen"), std::string::npos) << g;
  // ' and : escaped for the option parser, then everything for the graph parser.
  EXPECT_NE(g.find("text=50% off\\\\: it\\\\\\'s \\\\\\\\ \\[now\\]\\, ok\\; yes"),
            std::string::npos)
      << g;
  EXPECT_NE(g.find("enable=between(n\\,0\\,9)"), std::string::npos) << g;
  EXPECT_EQ(g.substr(g.size() - 5), "[out]");

  p.transition.type = "cut";
  auto c = make_filter_plan(p, make_timeline(3, p), {}, "x");
  EXPECT_EQ(c.nodes[0].filter, "concat");
  EXPECT_EQ(c.nodes[0].inputs, (std::vector<int>{-1, -2, -3}));
}

TEST(AudioTrack, LoopsFadesScalesAndClips) {
  AudioSamples src;
  src.left = {0.5f, -0.5f, 1.0f};
  src.right = {0.1f, 0.2f, 0.3f};
  auto out = shape_track(src, 7, 2.0, 0);
  EXPECT_EQ(out.size(), 7);
  EXPECT_FLOAT_EQ(out.left[0], 1.0f);
  EXPECT_FLOAT_EQ(out.left[1], -1.0f);
  EXPECT_FLOAT_EQ(out.left[2], 1.0f);  // 2.0 clipped
  EXPECT_FLOAT_EQ(out.left[3], 1.0f);  // looped
  EXPECT_FLOAT_EQ(out.right[4], 0.4f);
  // A fade over the last 2 samples at 48 kHz scale: 2 / 48000 s.
  auto faded = shape_track(src, 6, 1.0, 2.0 / kAudioRate);
  EXPECT_FLOAT_EQ(faded.right[3], 0.1f);
  EXPECT_FLOAT_EQ(faded.right[4], 0.2f * 1.0f);  // (6-4)/2 = 1
  EXPECT_FLOAT_EQ(faded.right[5], 0.3f * 0.5f);
  EXPECT_EQ(shape_track(AudioSamples{}, 5, 1, 0).size(), 5);  // silence
}
