// fontconfig lookup of the overlay font; see text_font.h.
#include "media/video/text_font.h"

#include <fontconfig/fontconfig.h>

#include <memory>
#include <stdexcept>

namespace atelier::media {

std::string text_font_file() {
  struct PatternFree {
    void operator()(FcPattern* p) const { FcPatternDestroy(p); }
  };
  if (!FcInit()) throw std::runtime_error("fontconfig: cannot initialise");
  std::unique_ptr<FcPattern, PatternFree> pat(
      FcNameParse(reinterpret_cast<const FcChar8*>(kTextFontFamily)));
  if (!pat) throw std::bad_alloc();
  FcConfigSubstitute(nullptr, pat.get(), FcMatchPattern);
  FcDefaultSubstitute(pat.get());
  FcResult res = FcResultNoMatch;
  std::unique_ptr<FcPattern, PatternFree> best(FcFontMatch(nullptr, pat.get(), &res));
  FcChar8* family = nullptr;
  FcChar8* file = nullptr;
  if (!best || res != FcResultMatch ||
      FcPatternGetString(best.get(), FC_FAMILY, 0, &family) != FcResultMatch ||
      FcPatternGetString(best.get(), FC_FILE, 0, &file) != FcResultMatch ||
      std::string(reinterpret_cast<const char*>(family)).rfind("Noto Sans CJK", 0) != 0)
    throw std::runtime_error(std::string("the text font ") + kTextFontFamily +
                             " is not installed (apt-get install fonts-noto-cjk)");
  return reinterpret_cast<const char*>(file);
}

}  // namespace atelier::media
