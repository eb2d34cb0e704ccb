// Which implementation runs each declared kind in this process. Each binary
// registers its own at start (cli/light_main.cpp: register_light_kinds; the ML
// entry point also register_ml_kinds), so the light `atelier` never links a
// kind that needs libtorch, OpenCV or FFmpeg. The kinds themselves are declared
// in kinds/ (name, binary, params); a test holds every declared kind to exactly
// one implementation, registered by the binary its declaration names.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kinds/kind_decl.h"
#include "workers/job_kind.h"

namespace atelier {

class KindRegistry {
 public:
  using Factory = std::unique_ptr<JobKind> (*)();
  // Registering a kind twice is kept (and caught by the test), not refused
  // here: a binary must start whatever its registrations say.
  void add(const KindSpec& kind, Factory make) { entries_.emplace_back(kind.name, make); }
  // The first implementation of `name`, or nullptr if this binary has none.
  std::unique_ptr<JobKind> make(std::string_view name) const;
  size_t count(std::string_view name) const;
  std::vector<std::string> names() const;  // in registration order, repeats kept

 private:
  std::vector<std::pair<std::string, Factory>> entries_;
};

// This process's registry (what make_kind reads).
KindRegistry& process_kinds();

// workers/light_kinds.cpp: the kinds declared for `atelier` (sleep, expand, report).
void register_light_kinds(KindRegistry& r);
// workers/ml_kinds.cpp, linked into atelier-ml only: the kinds declared for it.
void register_ml_kinds(KindRegistry& r);

}  // namespace atelier
