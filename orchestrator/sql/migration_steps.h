// What both engines do around their schema migrations (schema/migrations.h):
// the version this build writes, the error for a newer database, and the data
// steps a migration needs beyond its SQL.
#pragma once
#include <string>
#include <string_view>

#include "common/errors.h"
#include "connection.h"

namespace atelier::sql {

// The schema version this build writes (the number of migrations).
int schema_version();

InputError newer_schema_error(const std::string& db_name, int version);

// Runs inside the migration's transaction, after migration `name`'s SQL:
// 0005 turns the audit log into a hash chain (audit_chain.h) and chains the
// entries written before it.
void after_migration(Connection& db, std::string_view name);

}  // namespace atelier::sql
