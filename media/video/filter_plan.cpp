// Text layout and the filter graph of one aspect; see filter_plan.h.
#include "media/video/filter_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

namespace atelier::media {

namespace {

std::string seconds(int64_t frames, int fps) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9f", static_cast<double>(frames) / fps);
  return buf;
}

int rank(const std::string& role) {
  if (role == "title") return 0;
  if (role == "subtitle") return 1;
  if (role == "caption") return 2;
  return 3;  // cta
}

struct Block {
  const TextOverlay* style = nullptr;
  std::vector<std::vector<std::string>> texts;  // one entry per window
  std::vector<OverlayWindow> windows;
  int font_px = 0, line_h = 0, lines = 0;  // lines: the tallest entry
};

}  // namespace

std::vector<TextLine> layout_text(const VideoParams& p, const Timeline& t, int width, int height) {
  const int short_side = std::min(width, height);
  const int max_w = static_cast<int>(0.9 * width);
  std::vector<Block> blocks;
  auto add = [&](const TextOverlay& style,
                 const std::vector<std::pair<std::string, OverlayWindow>>& items) {
    if (items.empty()) return;
    Block b;
    b.style = &style;
    b.font_px = font_pixels(style, short_side);
    // Shrink the font until the tallest text fits in 60% of the height.
    for (;;) {
      b.texts.clear();
      b.lines = 0;
      for (const auto& [text, w] : items) {
        b.texts.push_back(wrap_text(text, b.font_px, max_w));
        b.lines = std::max<int>(b.lines, static_cast<int>(b.texts.back().size()));
      }
      b.line_h = static_cast<int>(std::lround(b.font_px * 1.3));
      if (b.lines * b.line_h <= 0.6 * height || b.font_px <= 8) break;
      b.font_px = std::max(8, static_cast<int>(b.font_px * 0.85));
    }
    for (const auto& item : items) b.windows.push_back(item.second);
    blocks.push_back(std::move(b));
  };
  for (const auto& o : p.overlays) add(o, {{o.text, overlay_window(o, t, p.fps)}});
  std::vector<std::pair<std::string, OverlayWindow>> captions;
  for (size_t i = 0; i < p.captions.size() && i < t.start.size(); ++i)
    if (!p.captions[i].empty()) captions.emplace_back(p.captions[i], caption_window(i, t));
  add(p.caption_style, captions);

  // Stack the blocks that share a position: top ones downwards from the top margin,
  // bottom ones upwards from the bottom margin, centre ones around the middle.
  std::map<Position, std::vector<Block*>> by_pos;
  for (auto& b : blocks) by_pos[b.style->position].push_back(&b);
  const int margin = static_cast<int>(std::lround(0.06 * height));
  const int gap = static_cast<int>(std::lround(0.02 * height));
  std::vector<TextLine> out;
  for (auto& [pos, group] : by_pos) {
    std::stable_sort(group.begin(), group.end(), [](const Block* a, const Block* b) {
      return rank(a->style->role) < rank(b->style->role);
    });
    int total = 0;
    for (const Block* b : group) total += b->lines * b->line_h;
    total += gap * static_cast<int>(group.size() - 1);
    int y = pos == Position::top      ? margin
            : pos == Position::bottom ? height - margin - total
                                      : (height - total) / 2;
    y = std::max(0, y);
    for (const Block* b : group) {
      for (size_t k = 0; k < b->texts.size(); ++k) {
        // Each text sits at the bottom of its block's slot when it has fewer lines
        // than the tallest, so bottom captions keep a steady baseline.
        const int offset = pos == Position::bottom
                               ? (b->lines - static_cast<int>(b->texts[k].size())) * b->line_h
                               : 0;
        for (size_t l = 0; l < b->texts[k].size(); ++l) {
          if (b->texts[k][l].empty()) continue;
          TextLine line;
          line.text = b->texts[k][l];
          line.font_px = b->font_px;
          line.y = y + offset + static_cast<int>(l) * b->line_h;
          line.color = b->style->color;
          line.box = b->style->box;
          line.box_color = b->style->box_color;
          line.window = b->windows[k];
          if (line.window.last > line.window.first) out.push_back(std::move(line));
        }
      }
      y += b->lines * b->line_h + gap;
    }
  }
  return out;
}

namespace {

FilterNode xfade(const VideoParams& p, const Timeline& t, int64_t offset, int a, int b) {
  return {"xfade",
          {{"transition", p.transition.type},
           {"duration", seconds(t.transition, p.fps)},
           {"offset", seconds(offset, p.fps)}},
          {a, b}};
}

// One drawtext per line after node `last`, then the yuv420p output.
void append_text(FilterPlan& plan, const std::vector<TextLine>& lines,
                 const std::string& font_family, int last) {
  for (const auto& l : lines) {
    const int border = std::max(2, static_cast<int>(std::lround(l.font_px * 0.2)));
    plan.nodes.push_back({"drawtext",
                          {{"font", font_family},
                           {"text", l.text},
                           {"expansion", "none"},
                           {"fontsize", std::to_string(l.font_px)},
                           {"fontcolor", l.color},
                           {"box", l.box ? "1" : "0"},
                           {"boxcolor", l.box_color},
                           {"boxborderw", std::to_string(border)},
                           {"x", "(w-text_w)/2"},
                           {"y", std::to_string(l.y)},
                           {"enable", "between(n," + std::to_string(l.window.first) + "," +
                                          std::to_string(l.window.last - 1) + ")"}},
                          {last}});
    last = static_cast<int>(plan.nodes.size()) - 1;
  }
  plan.nodes.push_back({"format", {{"pix_fmts", "yuv420p"}}, {last}});
}

}  // namespace

FilterPlan make_filter_plan(const VideoParams& p, const Timeline& t,
                            const std::vector<TextLine>& lines, const std::string& font_family) {
  FilterPlan plan;
  const int n = static_cast<int>(t.start.size());
  plan.sources = n;
  int last = -1;  // source 0
  if (n > 1 && t.transition == 0) {
    FilterNode c{"concat", {{"n", std::to_string(n)}, {"v", "1"}, {"a", "0"}}, {}};
    for (int i = 0; i < n; ++i) c.inputs.push_back(-1 - i);
    plan.nodes.push_back(std::move(c));
    last = 0;
  } else {
    for (int i = 1; i < n; ++i) {
      plan.nodes.push_back(xfade(p, t, t.start[static_cast<size_t>(i)], last, -1 - i));
      last = static_cast<int>(plan.nodes.size()) - 1;
    }
  }
  append_text(plan, lines, font_family, last);
  return plan;
}

FilterPlan transition_plan(const VideoParams& p, const Timeline& t) {
  FilterPlan plan;
  plan.sources = 2;
  plan.nodes.push_back(xfade(p, t, 0, -1, -2));
  plan.nodes.push_back({"format", {{"pix_fmts", "yuv420p"}}, {0}});
  return plan;
}

FilterPlan text_plan(const std::vector<TextLine>& lines, const std::string& font_family) {
  FilterPlan plan;
  plan.sources = 1;
  if (!lines.empty()) append_text(plan, lines, font_family, -1);
  return plan;
}

namespace {
std::string escape(const std::string& s, const char* special) {
  std::string out;
  for (char c : s) {
    if (std::strchr(special, c) && c != '\0') out += '\\';
    out += c;
  }
  return out;
}
}  // namespace

std::string to_filtergraph_string(const FilterPlan& plan) {
  std::string g;
  auto label = [](int input) {
    return input < 0 ? "[s" + std::to_string(-1 - input) + "]" : "[f" + std::to_string(input) + "]";
  };
  for (size_t k = 0; k < plan.nodes.size(); ++k) {
    const auto& node = plan.nodes[k];
    if (k) g += ";";
    for (int in : node.inputs) g += label(in);
    std::string args;
    for (const auto& [key, value] : node.options) {
      if (!args.empty()) args += ':';
      // The option parser unescapes once, the graph parser once before it.
      args += key + "=" + escape(escape(value, "\\':"), "\\'[],;");
    }
    g += node.filter + (args.empty() ? "" : "=" + args);
    g += k + 1 == plan.nodes.size() ? "[out]" : label(static_cast<int>(k));
  }
  return g;
}

}  // namespace atelier::media
