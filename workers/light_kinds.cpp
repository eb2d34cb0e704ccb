// The implementations `atelier` itself runs (their declarations name it).
#include "kinds/report.h"
#include "kinds/sleep.h"
#include "workers/kind_registry.h"

namespace atelier {

std::unique_ptr<JobKind> make_sleep_kind();
std::unique_ptr<JobKind> make_expand_kind();
std::unique_ptr<JobKind> make_report_kind();

void register_light_kinds(KindRegistry& r) {
  r.add(sleep_kind().spec(), make_sleep_kind);
  r.add(expand_kind().spec(), make_expand_kind);
  r.add(report_kind().spec(), make_report_kind);
}

}  // namespace atelier
