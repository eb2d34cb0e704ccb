// See store_commands.h: argument definitions of host and migrate-store.
#include "store_commands.h"

namespace atelier::cli {

void StoreCommands::add_to(CLI::App& app) {
  host_ = app.add_subcommand(
      "host",
      "run this host's workers for a shared job database: a supervisor of local worker "
      "processes (SIGTERM drains it)");
  host_->add_option("--db", host_args_.db, "the shared job database: postgresql://...")->required();
  host_
      ->add_option("--assets", host_args_.assets,
                   "the shared asset store (the same files every host sees)")
      ->required();
  host_->add_option("--workers", host_args_.workers, "worker processes per kind: kind=N,...");
  migrate_ = app.add_subcommand(
      "migrate-store",
      "copy this workspace's job database (runs, jobs, attempts, lineage, audit log...) into "
      "another store and switch the workspace to it");
  migrate_->add_option("--to", migrate_args_.to, "the new store: postgresql://...")->required();
}

std::optional<int> StoreCommands::dispatch(const Globals& g) {
  if (*host_) return cmd_host(g, host_args_);
  if (*migrate_) return cmd_migrate_store(g, migrate_args_);
  return std::nullopt;
}

}  // namespace atelier::cli
