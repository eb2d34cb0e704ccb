#include "sql_store.h"

namespace atelier::sql {

SqlStore::SqlStore(std::unique_ptr<Connection> db, std::shared_ptr<Clock> clock, RetryPolicy retry)
    : conn_(std::move(db)),
      db_(*conn_),
      clock_(std::move(clock)),
      retry_(retry),
      rng_(std::random_device{}()) {}

}  // namespace atelier::sql

namespace atelier {
std::string_view to_string(FailKind k) {
  switch (k) {
    case FailKind::error:
      return "failed";
    case FailKind::crashed:
      return "crashed";
    case FailKind::lease_expired:
      return "lease_expired";
    case FailKind::timeout:
      return "timeout";
    case FailKind::cancelled:
      return "cancelled";
    case FailKind::released:
      return "released";
    case FailKind::invalid:
      return "invalid";
    case FailKind::disk_full:
      return "disk_full";
  }
  return "failed";
}
}  // namespace atelier
