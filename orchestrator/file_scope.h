// What a spec may touch on this machine's file system (SECURITY.md).
//  - Always refused: the workspace's keys/ folder and its SQLite database (with
//    its -wal, -shm and -journal files), for every spec, local or not.
//  - A spec run from the local CLI may otherwise read and write what the OS
//    user can: its paths are the user's own.
//  - A spec submitted over the API (confined) may read only under the
//    workspace, atelier.yaml's import_roots and the model folders, and write
//    (exports, caption sidecars) only under the workspace and export_roots.
// Paths are judged after every symlink is resolved (weakly_canonical), so a
// link inside an allowed folder cannot lead out of it.
#pragma once
#include <filesystem>
#include <string_view>
#include <vector>

#include "orchestrator/config.h"

namespace atelier {

class FileScope {
 public:
  // `c.dir` is the workspace; its store URL names the database file.
  FileScope(const WorkspaceConfig& c, bool confined);

  // The canonical path when `p` may be read (written); else throws InputError
  // "WHAT: PATH is outside the folders a spec submitted over the API may read
  // (the workspace and import_roots in atelier.yaml)" or "... is the
  // workspace's signing key folder".
  std::filesystem::path check_read(const std::filesystem::path& p, std::string_view what) const;
  std::filesystem::path check_write(const std::filesystem::path& p, std::string_view what) const;
  bool confined() const { return confined_; }
  // The workspace folder (canonical): relative output folders are under it.
  const std::filesystem::path& workspace() const { return workspace_; }

 private:
  std::filesystem::path check(const std::filesystem::path& p, std::string_view what,
                              const std::vector<std::filesystem::path>& roots,
                              std::string_view verb, std::string_view config_key) const;
  bool confined_;
  std::filesystem::path workspace_;
  std::vector<std::filesystem::path> denied_dirs_, denied_files_, read_roots_, write_roots_;
};

// Whether `p` is `root` or below it (both canonical): compared by component,
// so /work/ws2 is not under /work/ws.
bool path_within(const std::filesystem::path& p, const std::filesystem::path& root);

}  // namespace atelier
