// `atelier migrate-store --to URL`: moves the workspace's job database into
// another store (sql/table_copy.h: every row, ids kept, one transaction), checks
// that every table holds as many rows there as here, then points atelier.yaml's
// `store:` at it. The old database file stays as it was (a backup; the
// workspace no longer reads it). Assets stay where they are.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_util.h"
#include "common/errors.h"
#include "orchestrator/sql/open_store.h"
#include "orchestrator/sql/table_copy.h"
#include "store_commands.h"

namespace atelier::cli {

namespace {

// atelier.yaml with its top-level `store:` line replaced (comments and every
// other line kept), or the key added.
std::string with_store(const std::string& text, const std::string& url) {
  std::istringstream in(text);
  std::string line, out;
  bool done = false;
  const std::string entry = "store: " + json(url).dump();
  while (std::getline(in, line)) {
    if (!done && line.rfind("store:", 0) == 0) {
      const size_t hash = line.find(" #");
      out += entry + (hash == std::string::npos ? "" : "  " + line.substr(hash + 1)) + "\n";
      done = true;
    } else {
      out += line + "\n";
    }
  }
  if (!done) out += entry + "\n";
  return out;
}

}  // namespace

int cmd_migrate_store(const Globals& g, const MigrateStoreArgs& a) {
  Workspace ws = open_workspace(g);
  const auto from_url = sql::parse_store_url(ws.config().store, ws.dir());
  const auto to_url = sql::parse_store_url(a.to, ws.dir());
  if (to_url.engine == from_url.engine && to_url.file == from_url.file &&
      to_url.url == from_url.url)
    throw InputError("--to " + a.to + ": that is this workspace's store already");
  auto from = sql::open_connection(from_url, false);
  auto to = sql::open_connection(to_url, true);
  const sql::CopyCounts copied = sql::copy_store(*from, *to);
  const sql::CopyCounts there = sql::count_rows(*to);
  int64_t rows = 0;
  for (size_t i = 0; i < copied.size(); ++i) {
    if (there[i].second != copied[i].second)
      throw std::runtime_error("migrate-store: table " + copied[i].first + " holds " +
                               std::to_string(there[i].second) + " rows in " + to->describe() +
                               " after copying " + std::to_string(copied[i].second));
    rows += copied[i].second;
  }
  const auto cfg = ws.dir() / "atelier.yaml";
  std::stringstream text;
  text << std::ifstream(cfg).rdbuf();
  const auto tmp = ws.dir() / "atelier.yaml.new";
  {
    std::ofstream out(tmp);
    out << with_store(text.str(), a.to);
    if (!out) throw InputError(tmp.string() + ": cannot write");
  }
  std::filesystem::rename(tmp, cfg);
  auto store = Workspace::open(ws.dir()).open_store();  // the new store: the audit log moved
  store->audit(current_actor(), "migrate-store", to->describe(),
               {{"from", from->describe()}, {"rows", rows}});
  if (g.json) {
    json tables = json::object();
    for (const auto& [t, n] : copied) tables[t] = n;
    std::cout << json{{"from", from->describe()}, {"to", to->describe()}, {"tables", tables}}.dump()
              << "\n";
  } else {
    std::cout << "moved " << rows << " rows from " << from->describe() << " to " << to->describe()
              << "\n";
    for (const auto& [t, n] : copied)
      if (n > 0) std::cout << "  " << t << ": " << n << "\n";
    std::cout << "atelier.yaml now names the new store; " << from->describe()
              << " is left as it was\n";
  }
  return 0;
}

}  // namespace atelier::cli
