// `atelier-ml`: the same command line with the ML commands and every kind's
// implementation, linked with libtorch, OpenCV and FFmpeg.
#include "commands.h"
#include "media/image_decode.h"
#include "ml/allocator_tuning.h"
#include "verify.h"
#include "workers/kind_registry.h"

int main(int argc, char** argv) {
  using namespace atelier::cli;
  atelier::ml::tune_allocator_for_tensors();
  atelier::register_light_kinds(atelier::process_kinds());
  atelier::register_ml_kinds(atelier::process_kinds());
  MlCommands ml;
  ml.train_base = cmd_train_base;
  ml.train_captioner = cmd_train_captioner;
  ml.eval_captioner = cmd_eval_captioner;
  ml.train_lora = cmd_train_lora;
  ml.generate = cmd_generate;
  ml.check = cmd_check;
  ml.registry_add = cmd_registry_add;
  ml.registry_list = cmd_registry_list;
  ml.model_add = cmd_model_add;
  ml.regenerate = regenerate_from_manifest;
  ml.decode_image = [](const std::filesystem::path& f) {
    return atelier::media::read_image_reduced(f).image;  // for hashing: bounded memory
  };
  return cli_main(argc, argv, ml);
}
