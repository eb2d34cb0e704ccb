#include "open_store.h"

#include "common/errors.h"
#include "pg_connection.h"
#include "pg_listener.h"
#include "retrying_store.h"
#include "sql_store.h"
#include "sqlite_connection.h"

namespace atelier::sql {

StoreUrl parse_store_url(const std::string& url, const std::filesystem::path& base_dir) {
  StoreUrl u;
  if (url.rfind("sqlite:", 0) == 0) {
    std::filesystem::path p = url.substr(7);
    if (p.empty()) throw InputError("store URL '" + url + "': no file after sqlite:");
    u.file = p.is_absolute() ? p : base_dir / p;
    return u;
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    u.engine = Engine::postgres;
    u.url = url;
    return u;
  }
  throw InputError("store URL '" + url +
                   "': unsupported (use sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE)");
}

std::unique_ptr<Connection> open_connection(const StoreUrl& u, bool create) {
  if (u.engine == Engine::sqlite) return std::make_unique<SqliteConnection>(u.file, create);
  return std::make_unique<PgConnection>(u.url, create);
}

std::unique_ptr<Store> open_store(const StoreUrl& u, bool create, std::shared_ptr<Clock> clock,
                                  const WorkspaceConfig& config) {
  auto store =
      std::make_unique<SqlStore>(open_connection(u, create), std::move(clock), config.retry);
  if (u.engine == Engine::sqlite) return store;  // a file: nothing to lose a connection to
  return std::make_unique<RetryingStore>(std::move(store), config.store_retry_ms);
}

std::unique_ptr<Waiter> open_listener(const StoreUrl& u) {
  if (u.engine == Engine::sqlite) return nullptr;
  return std::make_unique<PgListener>(u.url);
}

}  // namespace atelier::sql
