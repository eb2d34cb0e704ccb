#include "test_workspace.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "provenance/workspace_key.h"

namespace atelier::test {
namespace fs = std::filesystem;

namespace {

// The test server's URL; without it a PostgreSQL case fails and says how to
// get one (CI must never skip them).
std::string test_pg_url() {
  const char* url = std::getenv("ATELIER_TEST_PG");
  if (!url || !*url)
    throw std::runtime_error(
        "ATELIER_TEST_PG is not set: run the tests with scripts/test.sh, which starts a "
        "PostgreSQL server, or export the URL scripts/test_postgres.sh start prints");
  return url;
}

void pg_exec(const std::string& sql) {
  PGconn* c = PQconnectdb(test_pg_url().c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("test PostgreSQL server: " + msg);
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("test PostgreSQL server: " + msg);
}

}  // namespace

std::string engine_name(const ::testing::TestParamInfo<sql::Engine>& info) {
  return info.param == sql::Engine::sqlite ? "sqlite" : "postgres";
}

std::string TempWorkspace::pg_store_url(const std::string& schema) {
  const std::string base = test_pg_url();
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
         schema;
}

TempWorkspace::TempWorkspace(const std::string& extra_config, sql::Engine engine, bool init_now) {
  std::random_device rd;
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(rd());
  dir_ = fs::temp_directory_path() / ("atelier-test-" + tag);
  fs::create_directories(dir_);
  std::string config = extra_config;
  if (engine == sql::Engine::postgres) {
    pg_schema_ = "t_" + tag;
    pg_exec("CREATE SCHEMA " + pg_schema_);
    config += "\nstore: \"" + pg_store_url(pg_schema_) + "\"\n";
  }
  if (!config.empty()) {
    std::ofstream(dir_ / "atelier.yaml") << config << "\n";
  }
  if (init_now) init();
}

PgSchema::PgSchema() {
  std::random_device rd;
  name_ = "s_" + std::to_string(::getpid()) + "_" + std::to_string(rd());
  pg_exec("CREATE SCHEMA " + name_);
  url_ = TempWorkspace::pg_store_url(name_);
}

PgSchema::~PgSchema() {
  try {
    pg_exec("DROP SCHEMA " + name_ + " CASCADE");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
  }
}

void TempWorkspace::init() {
  ws_ = std::make_unique<Workspace>(provenance::init_workspace(dir_));
}

TempWorkspace::~TempWorkspace() {
  if (!pg_schema_.empty() &&
      (!::testing::Test::HasFailure() || std::getenv("ATELIER_TEST_CLEAN"))) {
    try {
      pg_exec("DROP SCHEMA " + pg_schema_ + " CASCADE");
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
    }
  }
  if (!::testing::Test::HasFailure() || std::getenv("ATELIER_TEST_CLEAN")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  } else {
    std::cerr << "kept failing test workspace: " << dir_ << "\n";
  }
}

std::unique_ptr<Store> TempWorkspace::store(std::shared_ptr<Clock> clock) const {
  return ws_->open_store(clock);
}

fs::path TempWorkspace::write_file(const std::string& name, const std::string& text) const {
  fs::path p = dir_ / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p;
}

std::string fast_config(int cpu_slots) {
  return "lease_ms: 1000\n"
         "cancel_grace_ms: 300\n"
         "drain_grace_ms: 2000\n"
         "supervisor_tick_ms: 20\n"
         "retry: {base_ms: 20, max_ms: 200, jitter: 0.2}\n"
         "restart_backoff: {base_ms: 10, max_ms: 200}\n"
         "max_attempts: 5\n"
         "cpu_slots: " +
         std::to_string(cpu_slots) + "\n";
}

bool wait_until(const std::function<bool()>& done, int64_t limit_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

NewRun simple_run(const std::string& name, int jobs, const std::string& kind,
                  std::optional<std::string> key) {
  NewRun r;
  r.name = name;
  r.spec_path = name + ".yaml";
  r.spec_text = "spec of " + name;
  r.spec_sha256 = "sha-" + name;
  r.submitter = "tester";
  r.idem_key = std::move(key);
  for (int i = 0; i < jobs; ++i) {
    NewJob j;
    j.stage = "s";
    j.kind = kind;
    j.params = std::make_shared<const json>(json{{"i", i}});
    r.jobs.push_back(j);
  }
  return r;
}

}  // namespace atelier::test
