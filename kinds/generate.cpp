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
          .param(&G::sampler, {.name = "sampler",
                               .type = T::string,
                               .doc = "DDIM, Euler, Euler a or DPM++ 2M",
                               .one_of = {"DDIM", "Euler", "Euler a", "DPM++ 2M", "ddim", "euler",
                                          "euler_a", "dpmpp_2m"}})
          .param(&G::cfg, {.name = "cfg",
                           .type = T::number,
                           .doc = "classifier-free guidance scale",
                           .min = 0,
                           .max = 50})
          .param(&G::size, {.name = "size",
                            .type = T::any,
                            .doc = "N or \"NxN\": the model's size or 2, 4 or 8 times it "
                                   "(default: the model's)"})
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
                                    "repeatable"});
  return decl;
}

}  // namespace atelier
