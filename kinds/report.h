// The `report` kind (the run's HTML report, no parameters) and the internal
// `expand` kind (the jobs of a for_each or group_by stage, made once its
// inputs exist).
#pragma once
#include <string>

#include "kinds/kind_decl.h"

namespace atelier {

struct ReportParams {};
const KindDecl<ReportParams>& report_kind();

struct ExpandParams {
  std::string stage;
};
const KindDecl<ExpandParams>& expand_kind();

}  // namespace atelier
