// The schema migrations embedded at build time, in order. Migration i (0-based)
// moves a database from PRAGMA user_version i to i+1; they are never edited once
// released, only appended.
#pragma once
#include <string_view>
#include <vector>

namespace atelier::schema {

struct Migration {
  std::string_view name;  // file name, e.g. "0001_init.sql"
  std::string_view sql;
};

// The SQLite migrations (schema/*.sql).
const std::vector<Migration>& migrations();

// The PostgreSQL migrations (schema/postgres/*.sql): migration i of
// postgres_migrations() is the same schema version as migration i of
// migrations(). Both lists always have the same length and names (the build
// checks the names).
const std::vector<Migration>& postgres_migrations();

}  // namespace atelier::schema
