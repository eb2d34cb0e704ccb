// The trainers' options from the kinds' typed parameters (kinds/train_*.h):
// one mapping for the `train_base` / `train_lora` jobs and the matching
// `atelier train-base` / `train-lora` commands. Where files go and how many
// threads run stay with the caller.
#pragma once
#include "kinds/train_base.h"
#include "kinds/train_lora.h"
#include "ml/base_trainer.h"
#include "ml/lora_trainer.h"

namespace atelier {

// Throws InputError naming `channels` when the UNet shape is not one the model takes.
ml::TrainBaseOptions train_base_options(const TrainBaseParams& p);
// Throws InputError when the trigger word holds a comma (it would split the caption's tags).
ml::TrainLoraOptions train_lora_options(const TrainLoraParams& p);

}  // namespace atelier
