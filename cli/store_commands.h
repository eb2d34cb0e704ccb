// The commands for a job database beyond one machine (DESIGN.md s.9,
// docs/hosts.md): `host` runs one worker host's supervisor against a shared
// store, `migrate-store` moves a workspace's database to another store.
// Registered on the CLI app by add_to; cli_main.cpp asks dispatch() whether one was
// given.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "commands.h"

namespace atelier::cli {

struct HostArgs {
  std::string db, assets;
  std::string workers;  // "kind=N,..."
};
int cmd_host(const Globals& g, const HostArgs& a);

struct MigrateStoreArgs {
  std::string to;
};
int cmd_migrate_store(const Globals& g, const MigrateStoreArgs& a);

class StoreCommands {
 public:
  void add_to(CLI::App& app);
  std::optional<int> dispatch(const Globals& g);

 private:
  CLI::App *host_ = nullptr, *migrate_ = nullptr;
  HostArgs host_args_;
  MigrateStoreArgs migrate_args_;
};

}  // namespace atelier::cli
