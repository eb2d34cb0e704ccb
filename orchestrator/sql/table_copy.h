// Moving a job database from one store to another (`atelier migrate-store`):
// every table, every row, ids kept, in one transaction on the target, read from
// one snapshot of the source. The target must be empty (freshly initialised) and
// both at this build's schema version; nothing may be leased (workers stopped),
// so no attempt is lost in flight. Asset files are not moved: the store only
// names them by sha256, and the workspace's asset folder stays where it is.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "connection.h"

namespace atelier::sql {

// The tables in an order that inserts every referenced row before its referrers.
const std::vector<std::string>& store_tables();

// Rows copied per table, in store_tables() order.
using CopyCounts = std::vector<std::pair<std::string, int64_t>>;

// Throws InputError when the target holds rows already or the source has
// leased jobs.
CopyCounts copy_store(Connection& from, Connection& to);

// Rows per table of one store (for comparing source and target).
CopyCounts count_rows(Connection& db);

}  // namespace atelier::sql
