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

const std::vector<Migration>& migrations();

}  // namespace atelier::schema
