#include "kinds/video.h"

namespace atelier {

const KindDecl<VideoKindParams>& video_kind() {
  using T = ParamType;
  using V = VideoKindParams;
  static const auto decl =
      KindDecl<V>({.name = "video",
                   .binary = kMlBinary,
                   .threads = 2,
                   .summary = "assembles MP4 ads in several aspect ratios from images, text and "
                              "audio"})
          .param(
              &V::images,
              {.name = "images", .type = T::files, .doc = "images, in order (default: the inputs)"})
          .param(&V::aspects, {.name = "aspects",
                               .type = T::any,
                               .doc = "16:9, 9:16, 1:1, 4:5 or WxH, one MP4 each"})
          .param(
              &V::fps,
              {.name = "fps", .type = T::integer, .doc = "frames per second", .min = 1, .max = 120})
          .param(&V::seconds_per_image,
                 {.name = "seconds_per_image",
                  .type = T::number,
                  .doc = "time each image is on screen, transitions included",
                  .min = 0.1,
                  .max = 3600})
          .param(&V::fit, {.name = "fit",
                           .type = T::string,
                           .doc = "cover, contain or contain-blur",
                           .one_of = {"cover", "contain", "contain-blur", "contain_blur"}})
          .param(&V::background,
                 {.name = "background", .type = T::string, .doc = "white, black or #RRGGBB"})
          .param(&V::ken_burns, {.name = "ken_burns",
                                 .type = T::any,
                                 .doc = "true, zoom_in, zoom_out, pan_left, pan_right, pan_up, "
                                        "pan_down or {motion, amount}"})
          .param(&V::transition, {.name = "transition",
                                  .type = T::any,
                                  .doc = "an xfade type or {type, seconds} (default fade, 0.5 s)"})
          .param(&V::title, {.name = "title",
                             .type = T::text,
                             .doc = "text over the first image (any UTF-8; may use {var})"})
          .param(&V::subtitle, {.name = "subtitle", .type = T::text, .doc = "text below the title"})
          .param(&V::cta,
                 {.name = "cta", .type = T::text, .doc = "call to action, over the last image"})
          .param(&V::title_style, {.name = "title_style",
                                   .type = T::object,
                                   .doc = "{position: top|center|bottom, start, end (seconds), "
                                          "size, color, box, box_color}"})
          .param(&V::subtitle_style,
                 {.name = "subtitle_style", .type = T::object, .doc = "like title_style"})
          .param(&V::cta_style, {.name = "cta_style", .type = T::object, .doc = "like title_style"})
          .param(&V::captions, {.name = "captions",
                                .type = T::list,
                                .doc = "one text per image, burned in over its image"})
          .param(&V::caption_style, {.name = "caption_style",
                                     .type = T::object,
                                     .doc = "{position, size, color, box, box_color}"})
          .param(&V::audio, {.name = "audio",
                             .type = T::files,
                             .doc = "an audio file: looped or cut to length, faded out"})
          .param(
              &V::audio_volume,
              {.name = "audio_volume", .type = T::number, .doc = "audio gain", .min = 0, .max = 10})
          .param(&V::audio_fade_out, {.name = "audio_fade_out",
                                      .type = T::number,
                                      .doc = "seconds of fade-out",
                                      .min = 0,
                                      .max = 60})
          .param(&V::preset, {.name = "preset",
                              .type = T::string,
                              .doc = "libx264 preset",
                              .one_of = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                         "medium", "slow", "slower", "veryslow"}})
          .param(&V::crf, {.name = "crf",
                           .type = T::integer,
                           .doc = "libx264 quality, lower is better",
                           .min = 0,
                           .max = 51});
  return decl;
}

}  // namespace atelier
