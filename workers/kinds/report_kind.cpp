// The `report` kind: writes the HTML report of its own run (provenance/
// run_report.h, through KindStore) as the output asset `report.html`
// (text/html, forwarded). It runs as one of the run's jobs, so the run is still
// running then: the page shows the states as they are at that moment and says
// it was generated while running.
// Deterministic for a given store state; takes no params.
#include "../job_kind.h"
#include "kinds/report.h"

namespace atelier {
namespace {

class ReportKind final : public JobKind {
 public:
  void check_params(const json& params) const override { report_kind().parse(params); }
  void run(JobContext& ctx) override {
    ctx.check_cancelled();
    const std::string html = ctx.store().run_report_html();
    ctx.log().info("report of run {}: {} bytes", ctx.lease().run_id, html.size());
    ctx.check_cancelled();
    ctx.write_output("report.html", html, "text/html", "html").forward = true;
  }
};

}  // namespace

std::unique_ptr<JobKind> make_report_kind() {
  return std::make_unique<ReportKind>();
}

}  // namespace atelier
