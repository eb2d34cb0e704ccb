// The bias audit's chart: one panel of bars per attribute in a bias_report (skin tone
// always, gender when any item had gender words or gender is judged), observed shares
// as filled bars and the target as a black line across each bar's slot, with counts,
// percentages, the attribute's TVD and verdict written on it.
//
// Invariants: the image size depends only on the number of panels (kChartWidth x
// kChartTitleHeight + panels * kChartPanelHeight); the same report gives the same PNG
// bytes; text is ASCII (OpenCV's Hershey font), group names are written as in the report.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace atelier::checks {

inline constexpr int kChartWidth = 800;
inline constexpr int kChartTitleHeight = 50;
inline constexpr int kChartPanelHeight = 280;

// 1 or 2.
int bias_chart_panels(const nlohmann::json& report);
// An 8-bit RGB PNG. Throws std::invalid_argument when the report has no skin_tone
// section or a section lacks its groups, shares or target.
std::vector<uint8_t> bias_chart_png(const nlohmann::json& report);

}  // namespace atelier::checks
