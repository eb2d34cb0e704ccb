// `atelier kinds [--json]`: every job kind with its parameters, read from the
// declarations (kinds/), for users and for the dashboard.
#include <iostream>

#include "commands.h"
#include "kinds/catalog.h"

namespace atelier::cli {

int cmd_kinds(const Globals& g) {
  const nlohmann::json all = kinds_json();
  if (g.json) {
    std::cout << all.dump() << "\n";
    return 0;
  }
  for (const auto& k : all) {
    if (k["internal"].get<bool>()) continue;
    std::cout << k["name"].get<std::string>() << "  (" << k["binary"].get<std::string>() << ", "
              << k["threads"] << " thread(s)"
              << (k["command"].is_null() ? "" : ", atelier " + k["command"].get<std::string>())
              << ")\n  " << k["summary"].get<std::string>() << "\n";
    for (const auto& p : k["params"]) {
      std::cout << "    " << p["name"].get<std::string>() << ": " << p["type"].get<std::string>();
      if (p["required"].get<bool>()) std::cout << ", required";
      if (!p["default"].is_null()) std::cout << ", default " << p["default"].dump();
      if (!p["min"].is_null() || !p["max"].is_null())
        std::cout << ", " << (p["min"].is_null() ? "" : p["min"].dump()) << ".."
                  << (p["max"].is_null() ? "" : p["max"].dump());
      if (p.contains("one_of")) {
        std::string list;
        for (const auto& o : p["one_of"]) list += (list.empty() ? "" : "|") + o.get<std::string>();
        std::cout << ", one of " << list;
      }
      std::cout << "\n      " << p["doc"].get<std::string>() << "\n";
    }
  }
  return 0;
}

}  // namespace atelier::cli
