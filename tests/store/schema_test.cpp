// Opening workspaces: migrations forward, newer databases and non-databases refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "common/errors.h"
#include "orchestrator/sql/migration_steps.h"
#include "orchestrator/sql/sqlite_connection.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {
int user_version(const std::filesystem::path& db) {
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, nullptr);
  sqlite3_step(st);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}
void exec(const std::filesystem::path& db, const char* sql) {
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_exec(h, sql, nullptr, nullptr, nullptr);
  sqlite3_close(h);
}
}  // namespace

TEST(Schema, InitMigratesToTheCurrentVersionWithWalAndForeignKeys) {
  TempWorkspace tw;
  EXPECT_EQ(user_version(tw.ws().db_path()), sql::schema_version());
  sql::SqliteConnection db(tw.ws().db_path(), false);
  EXPECT_EQ(db.raw().execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(db.raw().execAndGet("PRAGMA foreign_keys").getInt(), 1);
}

TEST(Schema, AnOlderDatabaseIsMigratedForward) {
  TempWorkspace tw;
  auto path = tw.dir() / "old.db";
  exec(path, "CREATE TABLE keep(x); INSERT INTO keep VALUES (7);");  // version 0
  sql::SqliteConnection db(path, false);
  EXPECT_EQ(user_version(path), sql::schema_version());
  EXPECT_EQ(db.raw().execAndGet("SELECT x FROM keep").getInt(), 7);
  EXPECT_EQ(db.raw().execAndGet("SELECT COUNT(*) FROM runs").getInt(), 0);
}

TEST(Schema, ANewerDatabaseIsRefusedClearly) {
  TempWorkspace tw;
  exec(tw.ws().db_path(), "PRAGMA user_version = 999");
  try {
    tw.store();
    FAIL();
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("schema version 999, newer than this atelier understands"), std::string::npos)
        << m;
    EXPECT_NE(m.find(tw.ws().db_path().string()), std::string::npos) << m;
  }
}

TEST(Schema, ANonDatabaseFileIsNamed) {
  TempWorkspace tw;
  std::filesystem::remove(tw.ws().db_path());
  std::filesystem::remove(tw.ws().db_path().string() + "-wal");
  std::filesystem::remove(tw.ws().db_path().string() + "-shm");
  std::ofstream(tw.ws().db_path())
      << "this is a text file, not a database, and it is long enough to have a header\n";
  try {
    tw.store();
    FAIL();
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(tw.ws().db_path().string() + ": not an Atelier database"), std::string::npos)
        << m;
  }
}
