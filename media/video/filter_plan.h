// The libavfilter graphs of one aspect, as data: which filters, with which
// options, fed by which inputs. Pure: the assembler builds real graphs from them
// (option by option with av_opt_set, so text needs no escaping), and the
// benchmark prints the whole-video plan as a filtergraph string for the ffmpeg CLI.
//
// The whole-video plan (make_filter_plan): source i is image i's frames (yuv420p,
// WxH, already fitted and moved by Ken Burns), frame numbers 0..per_image-1,
// joined by a chain of xfade filters (offset = image i's first frame) or, for
// cuts, one concat; then one drawtext per text line, switched on by frame number.
// The assembler runs the same filters in two smaller graphs (transition_plan for
// the frames where two images overlap, text_plan over every frame), because xfade
// works only on unsubsampled formats: through the whole chain, every frame would
// be converted to yuv444p and back, not only the transitions' frames.
// In every plan the last node is the graph's output, in yuv420p.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "media/video/video_plan.h"

namespace atelier::media {

struct FilterNode {
  std::string filter;
  std::vector<std::pair<std::string, std::string>> options;
  // Inputs in pad order: >= 0 an earlier node's output, < 0 source (-1 - i).
  std::vector<int> inputs;
};

struct FilterPlan {
  std::vector<FilterNode> nodes;  // the last one is the output
  int sources = 0;
};

struct TextLine {
  std::string text;
  int font_px = 0;
  int y = 0;  // top of the line in pixels
  std::string color, box_color;
  bool box = true;
  OverlayWindow window;
};

// Lays out the overlays and captions of a video of width x height: wraps each
// text to 90% of the width and stacks its lines at its position.
std::vector<TextLine> layout_text(const VideoParams& p, const Timeline& t, int width, int height);

FilterPlan make_filter_plan(const VideoParams& p, const Timeline& t,
                            const std::vector<TextLine>& lines, const std::string& font_family);

// One transition: source 0 is the outgoing image's last t.transition frames,
// source 1 the incoming image's first ones, both numbered from 0.
FilterPlan transition_plan(const VideoParams& p, const Timeline& t);

// The text over the finished frames (one source, numbered from the video's first
// frame); no nodes when there is no text.
FilterPlan text_plan(const std::vector<TextLine>& lines, const std::string& font_family);

// The plan as an ffmpeg -filter_complex string with inputs [0:v].. and output
// [out] (benchmark peer; text values are escaped for the CLI's two parsing levels).
std::string to_filtergraph_string(const FilterPlan& plan);

}  // namespace atelier::media
