// The font of every text overlay: Noto Sans CJK SC from Debian's fonts-noto-cjk,
// one family that draws Latin, Chinese, Japanese and Korean, so a title in any of
// them renders with the same look. Resolved through fontconfig, as drawtext does.
#pragma once
#include <string>

namespace atelier::media {

inline constexpr const char* kTextFontFamily = "Noto Sans CJK SC";

// The file fontconfig picks for the family. Throws std::runtime_error naming the
// package to install when the match is not a Noto CJK font (fontconfig falls
// back to any font, which would draw Chinese as empty boxes).
std::string text_font_file();

}  // namespace atelier::media
