#include "kinds/report.h"

namespace atelier {

const KindDecl<ReportParams>& report_kind() {
  static const KindDecl<ReportParams> decl({.name = "report", .summary = "the run's HTML report"});
  return decl;
}

const KindDecl<ExpandParams>& expand_kind() {
  static const auto decl =
      KindDecl<ExpandParams>(
          {.name = "expand",
           .threads = 0,
           .internal = true,
           .summary = "creates the jobs of a for_each or group_by stage once its inputs exist"})
          .param(&ExpandParams::stage, {.name = "stage",
                                        .type = ParamType::string,
                                        .doc = "the stage to expand",
                                        .required = true,
                                        .cli = CliForm::none,
                                        .cli_note = "made by the orchestrator"});
  return decl;
}

}  // namespace atelier
