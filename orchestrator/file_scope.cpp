// Spec file confinement; see file_scope.h.
#include "orchestrator/file_scope.h"

#include "common/errors.h"
#include "orchestrator/model_files.h"
#include "orchestrator/sql/open_store.h"

namespace atelier {

namespace fs = std::filesystem;

namespace {

fs::path canonical_of(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p), ec);
  // A symlink loop or an unreadable folder: judged as written, which stays
  // refused unless it lies textually under an allowed root.
  return ec ? fs::absolute(p).lexically_normal() : c;
}

}  // namespace

bool path_within(const fs::path& p, const fs::path& root) {
  auto pi = p.begin();
  for (auto ri = root.begin(); ri != root.end(); ++ri, ++pi) {
    if (ri->empty() && std::next(ri) == root.end()) break;  // trailing slash
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

FileScope::FileScope(const WorkspaceConfig& c, bool confined) : confined_(confined) {
  const fs::path ws = canonical_of(c.dir.empty() ? fs::current_path() : fs::path(c.dir));
  workspace_ = ws;
  denied_dirs_.push_back(ws / "keys");
  if (const sql::StoreUrl u = sql::parse_store_url(c.store, ws); u.engine == sql::Engine::sqlite) {
    const fs::path db = canonical_of(u.file);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
      denied_files_.push_back(db.string() + suffix);
  }
  read_roots_.push_back(ws);
  write_roots_.push_back(ws);
  for (const std::string& r : c.import_roots) read_roots_.push_back(canonical_of(r));
  for (const fs::path& r : model_search_dirs(c)) read_roots_.push_back(canonical_of(r));
  for (const std::string& r : c.export_roots) write_roots_.push_back(canonical_of(r));
}

fs::path FileScope::check(const fs::path& p, std::string_view what,
                          const std::vector<fs::path>& roots, std::string_view verb,
                          std::string_view config_key) const {
  const fs::path c = canonical_of(p);
  const std::string shown =
      p.string() == c.string() ? c.string() : p.string() + " (" + c.string() + ")";
  for (const fs::path& d : denied_dirs_)
    if (path_within(c, d))
      throw InputError(std::string(what) + ": " + shown +
                       " is in the workspace's signing key folder, which no spec may touch");
  for (const fs::path& f : denied_files_)
    if (c == f)
      throw InputError(std::string(what) + ": " + shown +
                       " is the workspace's job database, which no spec may touch");
  if (!confined_) return c;
  for (const fs::path& r : roots)
    if (path_within(c, r)) return c;
  throw InputError(std::string(what) + ": " + shown +
                   " is outside the folders a spec submitted over the API may " +
                   std::string(verb) + " (the workspace and " + std::string(config_key) +
                   " in atelier.yaml)");
}

fs::path FileScope::check_read(const fs::path& p, std::string_view what) const {
  return check(p, what, read_roots_, "read", "import_roots");
}

fs::path FileScope::check_write(const fs::path& p, std::string_view what) const {
  return check(p, what, write_roots_, "write", "export_roots");
}

}  // namespace atelier
