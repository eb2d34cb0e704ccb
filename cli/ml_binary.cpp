// Two binaries, one CLI: `atelier` never links libtorch (loading it costs a few
// hundred milliseconds and ~150 MB per process), and `atelier-ml`, built from
// the same sources plus the ML kinds and commands, does. `atelier generate`,
// `atelier train-base` and `atelier worker --kinds <an ML kind>` hand over to
// atelier-ml with the same arguments; the supervisor spawns atelier-ml for the
// ML kinds directly.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.h"

namespace atelier::cli {

std::string ml_binary_path() {
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  if (g_is_ml_binary) return self.string();
  return (self.parent_path() / "atelier-ml").string();
}

void exec_ml_binary(char** argv) {
  const std::string ml = ml_binary_path();
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);  // see docs/models.md
  argv[0] = const_cast<char*>(ml.c_str());
  ::execv(ml.c_str(), argv);
  std::cerr << "atelier: " << ml << ": " << std::strerror(errno)
            << " (this command needs atelier-ml, built beside atelier)\n";
  std::exit(1);
}

}  // namespace atelier::cli
