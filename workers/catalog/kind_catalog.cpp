#include "kind_catalog.h"

namespace atelier {

std::string_view to_string(ParamType t) {
  switch (t) {
    case ParamType::integer:
      return "an integer";
    case ParamType::number:
      return "a number";
    case ParamType::boolean:
      return "true or false";
    case ParamType::string:
      return "a string";
    case ParamType::list:
      return "a list";
    case ParamType::object:
      return "a mapping";
    case ParamType::files:
      return "a path, a glob, a list of them, or {path, licence}";
    case ParamType::text:
      return "text";
    case ParamType::any:
      return "a value";
  }
  return "?";
}

const ParamSpec* KindSpec::param(std::string_view n) const {
  for (const ParamSpec& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

const std::vector<KindSpec>& kind_catalog() {
  using T = ParamType;
  static const std::vector<KindSpec> all = [] {
    std::vector<KindSpec> v = {
        {"sleep",
         1,
         false,
         "test and chaos-drill kind: waits, fails or crashes on request",
         {{"ms", T::integer, false, "how long to sleep (default 0)"},
          {"fail_times", T::integer, false, "fail the first N attempts with an error"},
          {"crash_times", T::integer, false,
           "kill its own worker process abruptly during the first N attempts"},
          {"output", T::boolean, false, "write a small text asset naming the job"},
          {"ignore_cancel", T::boolean, false,
           "do not stop on cancel (to drill the supervisor's enforced cancel)"},
          {"files", T::files, false, "files to import as the job's inputs (lineage drills)"},
          {"label", T::text, false, "text written into the output asset (templating drills)"}}},
        {"caption",
         1,
         false,
         "captions images: a kohya-style caption line per image, tags and scores in captions.json",
         {{"images", T::files, false, "images to caption (default: the inputs)"},
          {"trigger", T::string, false, "word put first in every caption"},
          {"captioner", T::any, false,
           "captioner model name, path or sha256 (default emoji-captioner-32)"},
          {"tags", T::integer, false, "tags added after the sentence (default 3)", {}, 0, 32},
          {"use_sidecars", T::boolean, false, "use an existing <stem>.txt caption (default true)"},
          {"export_dir", T::string, false,
           "also write image + <stem>.txt pairs here (kohya layout)"}}},
        {"train_lora",
         2,
         false,
         "trains a LoRA adapter for the base model on captioned images (resumable)",
         {{"images", T::files, false, "training images (default: the inputs)"},
          {"model", T::any, false,
           "base model name, path, sha256 or ${stage.model} (default twemoji-base-32)"},
          {"name", T::string, false, "the LoRA's name (default lora-j<job id>)"},
          {"rank", T::integer, false, "adapter rank (default 8)", {}, 1, 256},
          {"alpha", T::number, false, "scale = alpha / rank (default: rank)", {}, 1e-6, 1e6},
          {"steps", T::integer, false, "training steps (default 400)", {}, 1, 1000000},
          {"lr", T::number, false, "peak learning rate (default 0.001)", {}, 1e-7, 1},
          {"batch", T::integer, false, "images per step (default 8)", {}, 1, 1024},
          {"trigger", T::string, false, "word put first in every caption"},
          {"caption_dropout",
           T::number,
           false,
           "share of steps with an empty caption (default 0.05)",
           {},
           0,
           1},
          {"shuffle_tags", T::boolean, false, "shuffle caption tags after the first keep_tags"},
          {"keep_tags", T::integer, false, "leading tags kept in place (default 1)", {}, 0, 1000},
          {"checkpoint_every",
           T::integer,
           false,
           "steps between checkpoints (default 50)",
           {},
           1,
           1000000},
          {"conv", T::boolean, false, "also adapt the residual blocks' 3x3 convolutions"},
          {"seed",
           T::integer,
           false,
           "data order, timesteps and noise (default 0)",
           {},
           0,
           9007199254740992.0}}},
        {"train_base",
         2,
         false,
         "trains the base text-to-image model on an emoji set (resumable)",
         {{"name", T::string, false, "model name (default twemoji-base-32)"},
          {"style", T::string, false, "twitter (default) or google", {"twitter", "google"}},
          {"steps", T::integer, false, "training steps (default 5000)", {}, 1, 10000000},
          {"batch", T::integer, false, "batch size (default 32)", {}, 1, 4096},
          {"lr", T::number, false, "peak learning rate (default 0.001)", {}, 0, 1},
          {"seed",
           T::integer,
           false,
           "data order, timesteps and noise (default 0)",
           {},
           0,
           9007199254740992.0},
          {"channels", T::list, false, "UNet channels per level (default [32, 64, 128])"},
          {"bf16_convs", T::boolean, false,
           "bfloat16 convolutions (CPUs with AVX-512 BF16; default false)"},
          {"checkpoint_every",
           T::integer,
           false,
           "steps between checkpoints (default 200)",
           {},
           1,
           10000000},
          {"limit_images",
           T::integer,
           false,
           "train on the first N images only (tests)",
           {},
           0,
           10000000}}},
        {"generate",
         2,
         false,
         "text-to-image generation",
         {{"prompt", T::text, true, "what to draw; may use {var}, {a|b} and __wildcards__"},
          {"negative", T::text, false, "negative prompt (the unconditional branch of guidance)"},
          {"variants", T::string, false, "combinatorial (default) or sampled"},
          {"count", T::integer, false, "images (default 1)", {}, 1, 1000},
          {"seed",
           T::integer,
           false,
           "seed of the first image; image i uses seed + i",
           {},
           0,
           9007199254740992.0},
          {"steps", T::integer, false, "sampler steps (default 40)", {}, 1, 1000},
          {"sampler",
           T::string,
           false,
           "DDIM (default), Euler, Euler a or DPM++ 2M",
           {"DDIM", "Euler", "Euler a", "DPM++ 2M", "ddim", "euler", "euler_a", "dpmpp_2m"}},
          {"cfg", T::number, false, "classifier-free guidance scale (default 5)", {}, 0, 50},
          {"size", T::any, false, "N or \"NxN\": the model's size or 2, 4 or 8 times it"},
          {"batch", T::integer, false, "images per forward pass (default 8)", {}, 1, 256},
          {"model", T::any, false, "a model name, path, sha256 or ${stage.model}"},
          {"loras", T::list, false,
           "LoRAs to apply: [{model, scale}] (also <lora:NAME:SCALE> in the prompt)"}}},
        {"video",
         2,
         false,
         "assembles MP4 ads in several aspect ratios from images, text and audio",
         {{"images", T::files, false, "images, in order (default: the inputs)"},
          {"aspects", T::any, false,
           "16:9, 9:16, 1:1, 4:5 or WxH, one MP4 each (default [16:9, 9:16, 1:1])"},
          {"fps", T::integer, false, "frames per second (default 30)", {}, 1, 120},
          {"seconds_per_image",
           T::number,
           false,
           "time each image is on screen, transitions included (default 3)",
           {},
           0.1,
           3600},
          {"fit",
           T::string,
           false,
           "cover (default), contain or contain-blur",
           {"cover", "contain", "contain-blur", "contain_blur"}},
          {"background", T::string, false, "white (default), black or #RRGGBB"},
          {"ken_burns", T::any, false,
           "true, zoom_in, zoom_out, pan_left, pan_right, pan_up, pan_down or {motion, amount}"},
          {"transition", T::any, false, "an xfade type or {type, seconds} (default fade, 0.5 s)"},
          {"title", T::text, false, "text over the first image (any UTF-8; may use {var})"},
          {"subtitle", T::text, false, "text below the title"},
          {"cta", T::text, false, "call to action, over the last image"},
          {"title_style", T::object, false,
           "{position: top|center|bottom, start, end (seconds), size, color, box, box_color}"},
          {"subtitle_style", T::object, false, "like title_style"},
          {"cta_style", T::object, false, "like title_style"},
          {"captions", T::list, false, "one text per image, burned in over its image"},
          {"caption_style", T::object, false, "{position, size, color, box, box_color}"},
          {"audio", T::files, false, "an audio file: looped or cut to length, faded out"},
          {"audio_volume", T::number, false, "audio gain (default 1)", {}, 0, 10},
          {"audio_fade_out", T::number, false, "seconds of fade-out (default 1)", {}, 0, 60},
          {"preset",
           T::string,
           false,
           "libx264 preset (default veryfast)",
           {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
            "veryslow"}},
          {"crf", T::integer, false, "libx264 quality, lower is better (default 23)", {}, 0, 51}}},
        {"check",
         1,
         false,
         "copyright, terms, licence and bias checks; forwards what its gate lets through",
         {{"copyright", T::any, false,
           "true or {registry: true|false|[labels], training: warn|fail|off}: copies of "
           "registry works (fail) and of training images upstream (warn)"},
          {"terms", T::any, false,
           "rules for prompts and captions: [term | {term, verdict, reason}] (whole words, "
           "any case, any script)"},
          {"licence", T::any, false,
           "warn or fail when an imported input upstream declares no licence"},
          {"bias", T::any, false, "true or {...}: skin tone and gender audit of the batch"},
          {"gate", T::string, false,
           "fail: keep assets with a failing verdict out of later stages; warn (default): "
           "record only",
           {"fail", "warn"}},
          {"images", T::files, false, "check these files instead of the inputs"}}},
        {"report", 1, false, "the run's HTML report", {}},
        {"expand",
         0,
         true,
         "creates the jobs of a for_each or group_by stage once its inputs exist",
         {{"stage", T::string, true, ""}}},
    };
    for (KindSpec& k : v)
      k.ml = k.name == "caption" || k.name == "train_lora" || k.name == "train_base" ||
             k.name == "generate" || k.name == "video" || k.name == "check";
    return v;
  }();
  return all;
}

const KindSpec* find_kind(std::string_view name) {
  for (const KindSpec& k : kind_catalog())
    if (k.name == name) return &k;
  return nullptr;
}

std::string known_kinds_list() {
  std::string s;
  for (const KindSpec& k : kind_catalog())
    if (!k.internal) s += (s.empty() ? "" : ", ") + k.name;
  return s;
}

}  // namespace atelier

namespace atelier {
bool is_ml_kind(std::string_view name) {
  const KindSpec* k = find_kind(name);
  return k && k->ml;
}
}  // namespace atelier
