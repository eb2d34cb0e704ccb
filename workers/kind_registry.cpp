// Maps catalog kind names to their implementations in this binary.
#include "job_kind.h"

namespace atelier {

std::unique_ptr<JobKind> make_sleep_kind();
std::unique_ptr<JobKind> make_expand_kind();
std::unique_ptr<JobKind> make_generate_kind();
std::unique_ptr<JobKind> make_train_base_kind();

std::unique_ptr<JobKind> make_kind(const std::string& name) {
  if (name == "sleep") return make_sleep_kind();
  if (name == "expand") return make_expand_kind();
  if (name == "generate") return make_generate_kind();
  if (name == "train_base") return make_train_base_kind();
  return nullptr;
}

}  // namespace atelier
