// `atelier`: the light binary. It never links libtorch, OpenCV or FFmpeg, so
// every CLI call and plain worker starts fast; the ML commands and kinds are
// handed to atelier-ml (ml_binary.cpp).
#include "commands.h"
#include "workers/kind_registry.h"

int main(int argc, char** argv) {
  atelier::register_light_kinds(atelier::process_kinds());
  return atelier::cli::cli_main(argc, argv, {});
}
