// `atelier provenance TARGET` and `--used-by TARGET`: where a file came from, or
// everything made from it. How TARGET is found (sha256, embedded manifest,
// nearest perceptual hash) is provenance/trace.h's; the trees are
// provenance/lineage.h's. Exit 0 found, 1 not found (the nearest is named), 2
// unreadable input.
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "provenance/lineage.h"
#include "provenance/trace.h"

namespace atelier::cli {

using namespace provenance;

int cmd_provenance(const Globals& g, const ProvenanceArgs& a, char** argv) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const AssetStore files = ws.asset_store();
  const bool down = !a.used_by.empty();
  const Located at = locate(*store, files, down ? a.used_by : a.target,
                            [argv](const std::filesystem::path& f) -> media::Image {
                              if (const auto decode = ml_commands().decode_image) return decode(f);
                              exec_ml_binary(argv);  // other formats need OpenCV's codecs
                            });
  const LineageNode tree =
      down ? trace_downstream(*store, at.sha256) : trace_upstream(*store, at.sha256);
  if (a.format == "prov-json") {
    std::cout << prov_json(tree).dump(2) << "\n";
    return 0;
  }
  json found = {{"sha256", at.sha256}, {"by", at.how}};
  if (!at.detail.empty()) found["detail"] = at.detail;
  if (g.json || a.format == "json") {
    json out = {{"found", found}, {down ? "downstream" : "lineage", lineage_json(tree)}};
    if (down) {
      out["used_by"] = json::array();
      for (const LineageNode* n : lineage_assets(tree))
        out["used_by"].push_back({{"sha256", n->id}, {"info", n->info}, {"checks", n->checks}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "found by " << at.how;
  if (at.how == "similarity")
    std::cout << " (PDQ distance " << at.detail["pdq_distance"].get<int>() << " of 256, colour "
              << at.detail["colour_distance"].get<double>() << "): not proof of identity";
  if (at.how == "manifest")
    std::cout << " (" << at.detail["job"].get<std::string>()
              << "; signature: " << at.detail["signature"].get<std::string>() << ")";
  std::cout << "\n";
  print_lineage(std::cout, tree);
  if (down) {
    const auto assets = lineage_assets(tree);
    std::cout << assets.size() << " asset(s) downstream\n";
  }
  return 0;
}

}  // namespace atelier::cli
