// `atelier report RUN [--out FILE]`: writes the run's self-contained HTML report
// (provenance/run_report.h) to FILE, by default <workspace>/reports/r<ID>.html,
// and prints the path (with --json: {"run", "report"}). Exit 2 for a run that does
// not exist; nothing is written then. The page is written to a temporary file
// beside FILE and renamed, so a reader never sees half a page.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "orchestrator/ids.h"
#include "provenance/run_report.h"

namespace atelier::cli {

int cmd_report(const Globals& g, const ReportArgs& a) {
  namespace fs = std::filesystem;
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const int64_t run_id = parse_run_id(a.run);
  if (!store->get_run(run_id)) throw NotFound("no such run: " + a.run);
  const std::string html = provenance::run_report_html(*store, ws.asset_store(), run_id);
  const fs::path out =
      a.out ? fs::path(*a.out) : ws.dir() / "reports" / (run_ref(run_id) + ".html");
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  const fs::path tmp = out.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw InputError("report: cannot write " + tmp.string());
    f << html;
    if (!f.flush()) throw InputError("report: cannot write " + tmp.string());
  }
  fs::rename(tmp, out);
  store->audit("cli", "report", run_ref(run_id), {{"file", out.string()}, {"bytes", html.size()}});
  if (g.json)
    std::cout << json{{"run", run_ref(run_id)}, {"report", out.string()}}.dump(2) << "\n";
  else
    std::cout << out.string() << "\n";
  return 0;
}

}  // namespace atelier::cli
