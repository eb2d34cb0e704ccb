// `atelier model add FILE [--name NAME] [--json]` (atelier-ml: it reads the
// file's layout with the SD loader, header only): registers a weights file by
// reference. Adding the same bytes again keeps the first registration.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "orchestrator/asset_store.h"
#include "workers/generation/model_inspect.h"

namespace atelier::cli {

namespace fs = std::filesystem;
using nlohmann::json;

int cmd_model_add(const Globals& g, const std::string& file, const std::string& name) {
  Workspace ws = open_workspace(g);
  std::error_code ec;
  const fs::path path = fs::weakly_canonical(fs::absolute(file), ec);
  if (!fs::is_regular_file(path, ec)) throw InputError(file + ": no such file");
  const ModelFacts f = inspect_model_file(path);
  auto store = ws.open_store();
  const std::string sha = sha256_file(path);
  if (auto known = store->find_model(sha)) {
    if (!name.empty() && name != known->name)
      std::cerr << "atelier: " << path.string() << " is already registered as '" << known->name
                << "' (sha256 " << sha.substr(0, 10) << "); keeping that name\n";
  } else {
    ModelRow row;
    row.sha256 = sha;
    row.kind = f.kind;
    row.name = name.empty() ? path.stem().string() : name;
    row.params = {{"format", f.format}, {"arch", f.arch}, {"dtype", f.dtype}};
    if (!f.prediction.empty()) {
      row.params["prediction"] = f.prediction;
      row.params["prediction_source"] = f.prediction_source;
    }
    row.path = path.string();
    store->register_model(row);
  }
  const ModelRow m = *store->find_model(sha);
  if (g.json) {
    std::cout << model_row_json(m).dump(2) << "\n";
  } else {
    std::cout << m.name << "\t" << m.sha256.substr(0, 10) << "\t" << m.params.value("arch", "")
              << (m.params.contains("prediction") ? " " + m.params["prediction"].get<std::string>()
                                                  : "")
              << "\t" << m.path.value_or("") << "\n";
  }
  return 0;
}

}  // namespace atelier::cli
