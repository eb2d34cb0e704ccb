// Fills a workspace with a job history for the dashboard benchmark
// (run_dashboard_bench.sh): RUNS runs of JOBS jobs each, through the store's
// own submission (so ids, ranges and indexes are as a real workspace has
// them), then ages them: most succeeded over the last day with started and
// finished times, some dead with an error, the newest run still running with
// ready and leased jobs.
//
//   atelier_dashboard_seed WORKSPACE_DIR [--runs 20] [--jobs 50000]
#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <cstring>
#include <iostream>

#include "orchestrator/workspace.h"

using namespace atelier;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: atelier_dashboard_seed WORKSPACE_DIR [--runs N] [--jobs N]\n";
    return 2;
  }
  int runs = 20, jobs = 50'000;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--jobs")) jobs = std::atoi(argv[i + 1]);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Workspace ws = Workspace::init(argv[1]);
  auto store = ws.open_store();
  static const char* kKinds[] = {"sleep", "generate", "check", "video"};
  for (int r = 0; r < runs; ++r) {
    NewRun run;
    run.name = "nightly-" + std::to_string(r);
    run.spec_path = "nightly.yaml";
    run.spec_text = "seeded";
    run.spec_sha256 = "seeded-" + std::to_string(r);
    run.submitter = "bench";
    auto params = std::make_shared<const json>(json{{"ms", 1}});
    for (int j = 0; j < jobs; ++j) {
      NewJob nj;
      nj.stage = std::string("stage") + std::to_string(j % 4);
      nj.kind = kKinds[j % 4];
      nj.params = params;
      nj.matrix = {{"i", j}};
      run.jobs.push_back(std::move(nj));
    }
    store->submit_run(run);
  }
  // Age the history in SQL: the store has no call to finish a million jobs at
  // once, and the benchmark measures reading, not how the rows got there.
  SQLite::Database db(ws.db_path().string(), SQLite::OPEN_READWRITE);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  SQLite::Transaction txn(db);
  SQLite::Statement last(db, "SELECT MAX(id) FROM runs");
  last.executeStep();
  const int64_t newest = last.getColumn(0).getInt64();
  db.exec(
      "UPDATE jobs SET state = CASE WHEN id % 97 = 0 THEN 'dead' ELSE 'succeeded' END, "
      "attempt = 1, started_at = " +
      std::to_string(now - 86'400'000) +
      " + (id * 86) % 86400000, "
      "finished_at = " +
      std::to_string(now - 86'400'000) +
      " + (id * 86) % 86400000 + 1500, "
      "error = CASE WHEN id % 97 = 0 THEN 'seeded failure' END WHERE run_id <> " +
      std::to_string(newest));
  db.exec(
      "UPDATE jobs SET state = CASE WHEN id % 50 = 0 THEN 'leased' ELSE 'ready' END, "
      "deps_left = 0 WHERE run_id = " +
      std::to_string(newest));
  db.exec("UPDATE runs SET state = 'succeeded', unfinished = 0, finished_at = " +
          std::to_string(now) + " WHERE id <> " + std::to_string(newest));
  txn.commit();
  db.exec("ANALYZE");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "seeded " << runs << " runs x " << jobs << " jobs in " << secs << " s\n";
  return 0;
}
