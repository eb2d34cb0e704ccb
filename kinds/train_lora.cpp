#include "kinds/train_lora.h"

#include "kinds/limits.h"

namespace atelier {

const KindDecl<TrainLoraParams>& train_lora_kind() {
  using T = ParamType;
  using L = TrainLoraParams;
  static const auto decl =
      KindDecl<L>(
          {.name = "train_lora",
           .binary = kMlBinary,
           .threads = 2,
           .summary = "trains a LoRA adapter for the base model on captioned images (resumable)",
           .command = "train-lora"})
          .param(&L::images, {.name = "images",
                              .type = T::files,
                              .doc = "training images (default: the inputs); on the command line "
                                     "a folder, with optional <stem>.txt captions"})
          .param(&L::model, {.name = "model",
                             .type = T::any,
                             .doc = "base model name, path, sha256 or ${stage.model}"})
          .param(
              &L::name,
              {.name = "name", .type = T::string, .doc = "the LoRA's name (default lora-j<job>)"})
          .param(&L::rank,
                 {.name = "rank", .type = T::integer, .doc = "adapter rank", .min = 1, .max = 256})
          .param(&L::alpha, {.name = "alpha",
                             .type = T::number,
                             .doc = "scale = alpha / rank (default: rank)",
                             .min = 1e-6,
                             .max = 1e6})
          .param(&L::steps, {.name = "steps",
                             .type = T::integer,
                             .doc = "training steps",
                             .min = 1,
                             .max = 1000000})
          .param(
              &L::lr,
              {.name = "lr", .type = T::number, .doc = "peak learning rate", .min = 1e-7, .max = 1})
          .param(&L::batch, {.name = "batch",
                             .type = T::integer,
                             .doc = "images per step",
                             .min = 1,
                             .max = 1024})
          .param(&L::trigger,
                 {.name = "trigger", .type = T::string, .doc = "word put first in every caption"})
          .param(&L::caption_dropout, {.name = "caption_dropout",
                                       .type = T::number,
                                       .doc = "share of steps with an empty caption",
                                       .min = 0,
                                       .max = 1})
          .param(&L::shuffle_tags, {.name = "shuffle_tags",
                                    .type = T::boolean,
                                    .doc = "shuffle caption tags after the first keep_tags"})
          .param(&L::keep_tags, {.name = "keep_tags",
                                 .type = T::integer,
                                 .doc = "leading tags kept in place",
                                 .min = 0,
                                 .max = 1000})
          .param(&L::checkpoint_every, {.name = "checkpoint_every",
                                        .type = T::integer,
                                        .doc = "steps between checkpoints",
                                        .min = 1,
                                        .max = 1000000})
          .param(&L::conv, {.name = "conv",
                            .type = T::boolean,
                            .doc = "also adapt the residual blocks' 3x3 convolutions"})
          .param(&L::seed, {.name = "seed",
                            .type = T::integer,
                            .doc = "data order, timesteps and noise",
                            .min = 0,
                            .max = kMaxSeed});
  return decl;
}

}  // namespace atelier
