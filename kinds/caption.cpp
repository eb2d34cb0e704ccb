#include "kinds/caption.h"

namespace atelier {

const KindDecl<CaptionParams>& caption_kind() {
  using T = ParamType;
  using C = CaptionParams;
  static const auto decl =
      KindDecl<C>({.name = "caption",
                   .binary = kMlBinary,
                   .summary = "captions images: a kohya-style caption line per image, tags and "
                              "scores in captions.json"})
          .param(&C::images, {.name = "images",
                              .type = T::files,
                              .doc = "images to caption (default: the inputs)"})
          .param(&C::trigger,
                 {.name = "trigger", .type = T::string, .doc = "word put first in every caption"})
          .param(
              &C::captioner,
              {.name = "captioner", .type = T::any, .doc = "captioner model name, path or sha256"})
          .param(&C::tags, {.name = "tags",
                            .type = T::integer,
                            .doc = "tags added after the sentence",
                            .min = 0,
                            .max = 32})
          .param(&C::use_sidecars, {.name = "use_sidecars",
                                    .type = T::boolean,
                                    .doc = "use an existing <stem>.txt caption"})
          .param(&C::export_dir, {.name = "export_dir",
                                  .type = T::string,
                                  .doc = "also write image + <stem>.txt pairs here (kohya layout)",
                                  .output_folder = true});
  return decl;
}

}  // namespace atelier
