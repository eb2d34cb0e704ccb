// Test fixtures: a fresh workspace in a temp folder with short configured
// durations, spec files written on the fly, and bounded waits on database
// state (a bound only turns a hang into a failure; nothing asserts on time).
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "orchestrator/clock.h"
#include "orchestrator/sql/connection.h"
#include "orchestrator/store.h"
#include "orchestrator/workspace.h"

namespace atelier::test {

class TempWorkspace {
 public:
  // `extra_config` is appended to atelier.yaml (YAML, overriding the defaults).
  // On PostgreSQL the workspace's store is a schema of its own in the test
  // server ATELIER_TEST_PG names (scripts/test_postgres.sh), dropped afterwards.
  // With `init` false the folder and its atelier.yaml are made, and init()
  // makes the workspace later (when its store is a server the test starts).
  explicit TempWorkspace(const std::string& extra_config = "",
                         sql::Engine engine = sql::Engine::sqlite, bool init = true);
  void init();
  ~TempWorkspace();

  const std::filesystem::path& dir() const { return dir_; }
  Workspace& ws() { return *ws_; }
  std::unique_ptr<Store> store(std::shared_ptr<Clock> clock = system_clock()) const;
  std::filesystem::path write_file(const std::string& name, const std::string& text) const;
  // The test server's URL with its search_path set to `schema`.
  static std::string pg_store_url(const std::string& schema);

 private:
  std::filesystem::path dir_;
  std::string pg_schema_;
  std::unique_ptr<Workspace> ws_;
};

// An empty schema in the test PostgreSQL server, dropped afterwards.
class PgSchema {
 public:
  PgSchema();
  ~PgSchema();
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;
  const std::string& url() const { return url_; }

 private:
  std::string name_, url_;
};

// Store-level suites run every case on both engines: a fixture derived from
// StoreTest uses GetParam() for its TempWorkspace, its cases are TEST_P, and
// INSTANTIATE_STORE_SUITE(Fixture) names the instances sqlite and postgres.
struct StoreTest : ::testing::TestWithParam<sql::Engine> {};
std::string engine_name(const ::testing::TestParamInfo<sql::Engine>& info);
#define INSTANTIATE_STORE_SUITE(Fixture)                                               \
  INSTANTIATE_TEST_SUITE_P(                                                            \
      Engines, Fixture,                                                                \
      ::testing::Values(atelier::sql::Engine::sqlite, atelier::sql::Engine::postgres), \
      atelier::test::engine_name)

// Short durations for process tests: 1 s leases, quick retries and restarts.
std::string fast_config(int cpu_slots = 8);

// Polls `done` every 20 ms until true or `limit_ms` passes; returns its last value.
bool wait_until(const std::function<bool()>& done, int64_t limit_ms = 60'000);

// Builds a one-run NewRun directly (store-level tests).
NewRun simple_run(const std::string& name, int jobs, const std::string& kind = "sleep",
                  std::optional<std::string> key = std::nullopt);

}  // namespace atelier::test
