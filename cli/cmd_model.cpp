// `atelier model list [--json]` (and the JSON form of a registered model that
// `atelier model add`, in cmd_model_add.cpp, prints too): models registered by
// reference. The file is not copied: the models table records its sha256 and
// path, and a `generate` stage may then name it by name or sha256. The short
// hash is AUTOMATIC1111's: the first 10 hex digits of the sha256.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"

namespace atelier::cli {

namespace fs = std::filesystem;
using nlohmann::json;

json model_row_json(const ModelRow& m) {
  return {{"name", m.name},
          {"sha256", m.sha256},
          {"short_hash", m.sha256.substr(0, 10)},
          {"kind", m.kind},
          {"arch", m.params.value("arch", "")},
          {"prediction", m.params.value("prediction", "")},
          {"path", m.path ? json(*m.path) : json(nullptr)}};
}

int cmd_model_list(const Globals& g) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  json out = json::array();
  for (const ModelRow& m : store->list_models()) out.push_back(model_row_json(m));
  if (g.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (out.empty()) std::cout << "no models registered (atelier model add FILE)\n";
  for (const json& m : out)
    std::cout << m["name"].get<std::string>() << "\t" << m["short_hash"].get<std::string>() << "\t"
              << m["kind"].get<std::string>() << "\t" << m["arch"].get<std::string>() << "\t"
              << (m["path"].is_string() ? m["path"].get<std::string>() : "(stored asset)") << "\n";
  return 0;
}

}  // namespace atelier::cli
