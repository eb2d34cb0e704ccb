// Maps catalog kind names to their implementations in this binary: the light
// kinds here, the ML kinds through make_ml_kind when this is atelier-ml.
#include "job_kind.h"

namespace atelier {

std::unique_ptr<JobKind> make_sleep_kind();
std::unique_ptr<JobKind> make_expand_kind();
std::unique_ptr<JobKind> make_report_kind();
// Defined only in atelier-ml (workers/ml_kind_registry.cpp); null in atelier.
std::unique_ptr<JobKind> make_ml_kind(const std::string& name) __attribute__((weak));

std::unique_ptr<JobKind> make_kind(const std::string& name) {
  if (name == "sleep") return make_sleep_kind();
  if (name == "expand") return make_expand_kind();
  if (name == "report") return make_report_kind();
  if (make_ml_kind) return make_ml_kind(name);
  return nullptr;
}

}  // namespace atelier
