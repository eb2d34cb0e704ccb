// Drawing the bias chart with OpenCV's imgproc; see bias_chart.h. The canvas is drawn
// in RGB order (OpenCV does not care), so it goes to encode_png without a conversion.
#include "checks/bias_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>

#include "media/png_io.h"

namespace atelier::checks {

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrey(200, 200, 200), kText(40, 40, 40);

cv::Scalar verdict_colour(const std::string& v) {
  if (v == "pass") return {30, 130, 60};
  if (v == "fail") return {190, 30, 30};
  return {200, 120, 0};
}

// Bars take the Twemoji skin-tone modifier colours, so the chart reads at a glance.
cv::Scalar group_colour(const std::string& g) {
  if (g == "light") return {0xF7, 0xDE, 0xCE};
  if (g == "medium-light") return {0xF3, 0xD2, 0xA2};
  if (g == "medium") return {0xD4, 0xAB, 0x88};
  if (g == "medium-dark") return {0xAF, 0x7E, 0x57};
  if (g == "dark") return {0x7C, 0x53, 0x3E};
  if (g == "female") return {0xC0, 0x6C, 0x84};
  if (g == "male") return {0x6C, 0x8E, 0xC0};
  return {150, 150, 150};
}

void text(cv::Mat& m, const std::string& s, int x, int y, double scale, const cv::Scalar& c,
          int thickness = 1) {
  cv::putText(m, s, {x, y}, cv::FONT_HERSHEY_SIMPLEX, scale, c, thickness, cv::LINE_AA);
}

void centred(cv::Mat& m, const std::string& s, int cx, int y, double scale, const cv::Scalar& c) {
  int base = 0;
  const cv::Size sz = cv::getTextSize(s, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
  text(m, s, cx - sz.width / 2, y, scale, c);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const nlohmann::json& need(const nlohmann::json& o, const char* key, const std::string& where) {
  if (!o.is_object() || !o.contains(key))
    throw std::invalid_argument("bias_chart_png: " + where + " has no " + key);
  return o[key];
}

void panel(cv::Mat& m, int top, const std::string& title, const nlohmann::json& s,
           const std::string& unit, const std::string& where) {
  const auto& groups = need(s, "groups", where);
  const auto& shares = need(s, "shares", where);
  const auto& target = need(s, "target", where);
  if (!groups.is_array() || groups.empty())
    throw std::invalid_argument("bias_chart_png: " + where + ".groups is empty");
  const size_t k = groups.size();
  double top_value = 0;
  for (const auto& g : groups) {
    const std::string name = g.get<std::string>();
    top_value = std::max({top_value, shares.value(name, 0.0), target.value(name, 0.0)});
  }
  const double y_max = std::clamp(std::ceil(top_value * 10 - 1e-9) / 10, 0.1, 1.0);

  const std::string verdict = s.value("verdict", "");
  const bool judged = s.value("judged", false);
  const double total = s.value("total", 0.0);
  std::string head = title + " (" + fmt("%.0f", total) + " " + unit + ")";
  if (s.contains("tvd") && s["tvd"].is_number())
    head += "  TVD " + fmt("%.2f", s["tvd"].get<double>());
  text(m, head, 20, top + 28, 0.6, kText, 1);
  const std::string tag = verdict + (judged ? "" : " (not judged)");
  int base = 0;
  const cv::Size tsz = cv::getTextSize(tag, cv::FONT_HERSHEY_SIMPLEX, 0.6, 2, &base);
  text(m, tag, kChartWidth - 20 - tsz.width, top + 28, 0.6,
       judged ? verdict_colour(verdict) : cv::Scalar(120, 120, 120), 2);

  const int left = 70, right = kChartWidth - 20, plot_top = top + 60,
            plot_bottom = top + kChartPanelHeight - 45;
  const int plot_h = plot_bottom - plot_top;
  for (int i = 0; i <= 10; ++i) {
    const double v = y_max * i / 10;
    if (i % 2 != 0 && y_max > 0.25) continue;
    const int y = plot_bottom - static_cast<int>(std::lround(v / y_max * plot_h));
    cv::line(m, {left, y}, {right, y}, kGrey, 1);
    text(m, fmt("%.0f%%", 100 * v), 20, y + 5, 0.4, kText);
  }
  const double slot = static_cast<double>(right - left) / static_cast<double>(k);
  for (size_t i = 0; i < k; ++i) {
    const std::string name = groups[i].get<std::string>();
    const double p = shares.value(name, 0.0), t = target.value(name, 0.0);
    const int x0 = left + static_cast<int>(slot * static_cast<double>(i) + slot * 0.2);
    const int x1 = left + static_cast<int>(slot * static_cast<double>(i + 1) - slot * 0.2);
    const int cx = (x0 + x1) / 2;
    const int yp = plot_bottom - static_cast<int>(std::lround(p / y_max * plot_h));
    const int yt = plot_bottom - static_cast<int>(std::lround(t / y_max * plot_h));
    if (p > 0) {
      cv::rectangle(m, {x0, yp}, {x1, plot_bottom}, group_colour(name), cv::FILLED);
      cv::rectangle(m, {x0, yp}, {x1, plot_bottom}, kText, 1);
    }
    cv::line(m, {x0 - 8, yt}, {x1 + 8, yt}, kBlack, 2);
    const double count = s.contains("counts") ? s["counts"].value(name, 0.0) : 0.0;
    centred(m, fmt("%.0f", count) + " (" + fmt("%.0f%%", 100 * p) + ")", cx, std::min(yp, yt) - 8,
            0.45, kText);
    centred(m, name, cx, plot_bottom + 22, 0.5, kText);
  }
  cv::line(m, {left, plot_bottom}, {right, plot_bottom}, kText, 1);
  text(m, "bars: observed   line: target", left, top + kChartPanelHeight - 8, 0.4, kText);
}

}  // namespace

int bias_chart_panels(const nlohmann::json& report) {
  if (!report.is_object() || !report.contains("gender")) return 1;
  const auto& g = report["gender"];
  const bool any = g.value("total", 0.0) > 0 || g.value("mixed", 0) > 0;
  return any || g.value("judged", false) ? 2 : 1;
}

std::vector<uint8_t> bias_chart_png(const nlohmann::json& report) {
  if (!report.is_object() || !report.contains("skin_tone"))
    throw std::invalid_argument("bias_chart_png: the report has no skin_tone section");
  const int panels = bias_chart_panels(report);
  const int height = kChartTitleHeight + panels * kChartPanelHeight;
  cv::Mat m(height, kChartWidth, CV_8UC3, cv::Scalar(255, 255, 255));

  const std::string verdict = report.value("verdict", "");
  std::string title = "Bias audit: " + verdict;
  if (report.contains("score") && report["score"].is_number())
    title += "   score " + fmt("%.2f", report["score"].get<double>());
  title += "   " + fmt("%.0f", report.value("items", 0.0)) + " images";
  text(m, title, 20, 34, 0.8, verdict_colour(verdict), 2);
  cv::line(m, {0, kChartTitleHeight - 1}, {kChartWidth, kChartTitleHeight - 1}, kGrey, 1);

  panel(m, kChartTitleHeight, "Skin tone groups", report["skin_tone"], "people", "skin_tone");
  if (panels == 2)
    panel(m, kChartTitleHeight + kChartPanelHeight, "Gender words", report["gender"],
          "items of one gender", "gender");

  media::Image img;
  img.width = m.cols;
  img.height = m.rows;
  img.channels = 3;
  img.pixels.assign(m.data, m.data + m.total() * m.elemSize());
  return media::encode_png(img);
}

}  // namespace atelier::checks
