// The libavfilter graph of one aspect, as data: which filters, with which
// options, fed by which inputs. Pure: the assembler builds the real graph from
// it (option by option with av_opt_set, so text needs no escaping), and the
// benchmark prints it as a filtergraph string for the ffmpeg CLI.
//
// Shape: source i is image i's frames (yuv420p, WxH, already fitted and moved by
// Ken Burns), frame numbers 0..per_image-1. Sources are joined by a chain of xfade
// filters (offset = image i's first frame) or, for cuts, one concat; then one
// drawtext per text line, switched on by frame number; the last node is the
// graph's output.
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

// The plan as an ffmpeg -filter_complex string with inputs [0:v].. and output
// [out] (benchmark peer; text values are escaped for the CLI's two parsing levels).
std::string to_filtergraph_string(const FilterPlan& plan);

}  // namespace atelier::media
