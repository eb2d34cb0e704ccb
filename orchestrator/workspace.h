// A workspace is a folder holding atelier.yaml, the job database, the asset
// store, attempt logs, the wake file and its Ed25519 signing key (keys/, made
// and read by provenance/workspace_key.h, above this library). Opening one reads
// the config and opens (and migrates) its store.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "asset_store.h"
#include "clock.h"
#include "config.h"
#include "store.h"
#include "wakeup.h"

namespace atelier {

class Workspace {
 public:
  // Throws InputError when `dir` is not a workspace (no atelier.yaml).
  static Workspace open(const std::filesystem::path& dir);
  // Creates the folder, config, database and asset folders; safe on an existing
  // one. `store` (a store URL) and `assets` go into a new atelier.yaml; an
  // existing one that names another store is an error (see migrate-store).
  // With create_store false the store must exist already (a worker host
  // joining a shared database).
  static Workspace init(const std::filesystem::path& dir,
                        const std::optional<std::string>& store = std::nullopt,
                        const std::optional<std::string>& assets = std::nullopt,
                        bool create_store = true);
  // -w, else $ATELIER_WORKSPACE, else the current directory.
  static std::filesystem::path resolve_dir(const std::optional<std::string>& flag);

  const std::filesystem::path& dir() const { return dir_; }
  const WorkspaceConfig& config() const { return config_; }
  WorkspaceConfig& config() { return config_; }
  // The SQLite file (InputError when the store is a server).
  std::filesystem::path db_path() const;
  // The file, or the server URL without its password.
  std::string describe_store() const;
  // True when the job database is a server other hosts share (PostgreSQL).
  bool shared_store() const;
  std::filesystem::path assets_dir() const;
  std::filesystem::path logs_dir() const { return dir_ / "logs"; }
  // Where files are written before their atomic rename into the asset store:
  // on the asset store's own file system (<assets>/.tmp when the assets are
  // elsewhere, e.g. a shared path other hosts write too).
  std::filesystem::path tmp_dir() const;
  std::filesystem::path wake_file() const { return dir_ / ".wake"; }
  std::filesystem::path keys_dir() const { return dir_ / "keys"; }

  // A new store connection (one per thread). Wires its ready hook to the wake file.
  std::unique_ptr<Store> open_store(std::shared_ptr<Clock> clock = system_clock(),
                                    bool create = false) const;
  // What an idle worker waits on for new ready jobs (wakeup.h).
  std::unique_ptr<Waiter> open_waiter() const;
  AssetStore asset_store() const { return AssetStore(assets_dir(), tmp_dir()); }

  // Overrides for `atelier worker --db URL --assets PATH` on another host.
  void set_store_url(const std::string& url) { config_.store = url; }
  void set_assets_path(const std::string& path) { config_.assets = path; }

 private:
  std::filesystem::path dir_;
  WorkspaceConfig config_;
};

// Who runs this command (for the audit log and run submitter).
std::string current_actor();
std::string host_name();

}  // namespace atelier
