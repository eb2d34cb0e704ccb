#include "kinds/train_base.h"

#include "kinds/limits.h"

namespace atelier {

const KindDecl<TrainBaseParams>& train_base_kind() {
  using T = ParamType;
  using B = TrainBaseParams;
  static const auto decl =
      KindDecl<B>({.name = "train_base",
                   .binary = kMlBinary,
                   .threads = 2,
                   .summary = "trains the base text-to-image model on an emoji set (resumable)",
                   .command = "train-base"})
          .param(&B::name, {.name = "name", .type = T::string, .doc = "model name"})
          .param(&B::style, {.name = "style",
                             .type = T::string,
                             .doc = "the emoji set: twitter or google",
                             .one_of = {"twitter", "google"}})
          .param(&B::steps, {.name = "steps",
                             .type = T::integer,
                             .doc = "training steps",
                             .min = 1,
                             .max = 10000000})
          .param(&B::batch,
                 {.name = "batch", .type = T::integer, .doc = "batch size", .min = 1, .max = 4096})
          .param(&B::lr,
                 {.name = "lr", .type = T::number, .doc = "peak learning rate", .min = 0, .max = 1})
          .param(&B::seed, {.name = "seed",
                            .type = T::integer,
                            .doc = "data order, timesteps and noise",
                            .min = 0,
                            .max = kMaxSeed})
          .param(&B::channels, {.name = "channels",
                                .type = T::list,
                                .doc = "UNet channels per level (default [32, 64, 128])"})
          .param(&B::bf16_convs, {.name = "bf16_convs",
                                  .type = T::boolean,
                                  .doc = "bfloat16 convolutions (CPUs with AVX-512 BF16)"})
          .param(&B::checkpoint_every, {.name = "checkpoint_every",
                                        .type = T::integer,
                                        .doc = "steps between checkpoints",
                                        .min = 1,
                                        .max = 10000000})
          .param(&B::limit_images, {.name = "limit_images",
                                    .type = T::integer,
                                    .doc = "train on the first N images only (0: all)",
                                    .min = 0,
                                    .max = 10000000});
  return decl;
}

}  // namespace atelier
