#include "kinds/generate.h"

#include "kinds/limits.h"

namespace atelier {

const KindDecl<GenerateParams>& generate_kind() {
  using T = ParamType;
  using G = GenerateParams;
  static const auto decl =
      KindDecl<G>({.name = "generate",
                   .binary = kMlBinary,
                   .threads = 2,
                   .summary = "text-to-image generation",
                   .command = "generate"})
          .param(&G::prompt, {.name = "prompt",
                              .type = T::text,
                              .doc = "what to draw; may use {var}, {a|b} and __wildcards__",
                              .required = true,
                              .cli = CliForm::positional})
          .param(&G::negative, {.name = "negative",
                                .type = T::text,
                                .doc = "negative prompt (the unconditional branch of guidance)"})
          .param(&G::variants,
                 {.name = "variants",
                  .type = T::string,
                  .doc = "how {a|b} variants expand: combinatorial or sampled",
                  .one_of = {"combinatorial", "sampled"},
                  .cli = CliForm::none,
                  .cli_note = "variants expand into jobs at submission; the command draws one "
                              "prompt"})
          .param(&G::count,
                 {.name = "count", .type = T::integer, .doc = "images", .min = 1, .max = 1000})
          .param(&G::seed, {.name = "seed",
                            .type = T::integer,
                            .doc = "seed of the first image; image i uses seed + i",
                            .min = 0,
                            .max = kMaxSeed})
          .param(
              &G::steps,
              {.name = "steps", .type = T::integer, .doc = "sampler steps", .min = 1, .max = 1000})
          .param(&G::sampler,
                 {.name = "sampler",
                  .type = T::string,
                  .doc = "DDIM, Euler, Euler a, DPM++ 2M or LCM; \"... Karras\" walks Karras "
                         "sigmas (Stable Diffusion checkpoints)",
                  .one_of = {"DDIM", "Euler", "Euler a", "DPM++ 2M", "LCM", "Euler Karras",
                             "Euler a Karras", "DPM++ 2M Karras", "ddim", "euler", "euler_a",
                             "dpmpp_2m", "lcm"}})
          .param(&G::cfg, {.name = "cfg",
                           .type = T::number,
                           .doc = "classifier-free guidance scale",
                           .min = 0,
                           .max = 50})
          .param(&G::size, {.name = "size",
                            .type = T::any,
                            .doc = "N or \"WxH\": for Atelier's models their size or 2, 4 or 8 "
                                   "times it (square); for Stable Diffusion any multiple of 8 "
                                   "(default: 512, SDXL 1024)"})
          .param(&G::batch, {.name = "batch",
                             .type = T::integer,
                             .doc = "images per forward pass",
                             .min = 1,
                             .max = 256})
          .param(&G::model, {.name = "model",
                             .type = T::any,
                             .doc = "a model name, path, sha256 or ${stage.model}"})
          .param(&G::loras, {.name = "loras",
                             .type = T::list,
                             .doc = "LoRAs to apply: [{model, scale}] (also <lora:NAME:SCALE> in "
                                    "the prompt); on the command line NAME or NAME:SCALE, "
                                    "repeatable"})
          .param(&G::tokenizer,
                 {.name = "tokenizer",
                  .type = T::string,
                  .doc = "Stable Diffusion: folder of CLIP's tokenizer files (vocab.json and "
                         "merges.txt, or bpe_simple_vocab_16e6.txt.gz); default: tokenizer/ "
                         "beside the checkpoint"})
          .param(&G::clip_skip, {.name = "clip_skip",
                                 .type = T::integer,
                                 .doc = "Stable Diffusion: text encoder layers to skip from the "
                                        "end, as A1111 counts (0: the family's default)",
                                 .min = 0,
                                 .max = 12})
          .param(&G::prediction,
                 {.name = "prediction",
                  .type = T::string,
                  .doc = "Stable Diffusion: epsilon or v, for a checkpoint whose file does not "
                         "say (default epsilon)",
                  .one_of = {"epsilon", "v"}})
          .param(&G::preset, {.name = "preset",
                              .type = T::string,
                              .doc = "Stable Diffusion sampling preset: turbo (SD-Turbo, "
                                     "SDXL-Turbo: 1 step of Euler a, no guidance) or lcm (4 "
                                     "steps of LCM, no guidance); explicit steps, sampler or cfg "
                                     "win",
                              .one_of = {"turbo", "lcm"}})
          .param(&G::init_image,
                 {.name = "init_image",
                  .type = T::files,
                  .doc = "Stable Diffusion img2img: the image to start from (or one upstream "
                         "image through needs or for_each); default size: its own, rounded down "
                         "to a multiple of 8"})
          .param(&G::strength, {.name = "strength",
                                .type = T::number,
                                .doc = "img2img: how much of the image is redrawn (A1111's "
                                       "denoising strength); given alone, the job's one image "
                                       "input is the start",
                                .min = 0.01,
                                .max = 1});
  return decl;
}

}  // namespace atelier
