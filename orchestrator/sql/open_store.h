// Store URLs: `sqlite:PATH` (relative to the workspace folder) or a PostgreSQL
// connection URI (`postgresql://` or `postgres://`). Opening one gives a store
// whose connection loss is retried (RetryingStore) and a waiter for idle
// workers that reaches every host sharing the database.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "../clock.h"
#include "../config.h"
#include "../store.h"
#include "../wakeup.h"
#include "connection.h"

namespace atelier::sql {

struct StoreUrl {
  Engine engine = Engine::sqlite;
  std::filesystem::path file;  // sqlite
  std::string url;             // postgres: as given
};

// Throws InputError naming the URL when it is neither form.
StoreUrl parse_store_url(const std::string& url, const std::filesystem::path& base_dir);

// Opens (create: makes the database or schema) and migrates forward.
std::unique_ptr<Connection> open_connection(const StoreUrl& u, bool create);

std::unique_ptr<Store> open_store(const StoreUrl& u, bool create, std::shared_ptr<Clock> clock,
                                  const WorkspaceConfig& config);

// PostgreSQL: a listener on the schema's channel; nullptr for SQLite (the
// workspace's wake file serves one machine).
std::unique_ptr<Waiter> open_listener(const StoreUrl& u);

}  // namespace atelier::sql
