// atelier_queue_bench: enqueue rate, drain rate and dependency dispatch latency
// of the SQLite queue with no-op `sleep` jobs, printed as one JSON object (the
// same metric names as bench/peer_plainjob/bench.js). Definitions are in
// docs/BENCHMARKS.md.
//
//   atelier_queue_bench --atelier PATH [--jobs 20000] [--workers 2] [--chains 500]
//                       [--dir TMPDIR] [--keep]
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "bench_phases.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace atelier::bench;

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "atelier_queue_bench: " << why
            << "\nusage: atelier_queue_bench --atelier PATH [--jobs N] [--workers W] "
               "[--chains C] [--dir TMPDIR] [--keep]\n";
  std::exit(2);
}

int positive(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used == v.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  usage(flag + " needs a whole number > 0, got '" + v + "'");
}

// Nearest rank, as the peer computes it.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<long>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::clamp<long>(rank, 0, static_cast<long>(v.size()) - 1)];
}

double r3(double x) {
  return std::round(x * 1000.0) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions o;
  fs::path base;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--atelier")
      o.atelier = value();
    else if (a == "--jobs")
      o.jobs = positive(a, value());
    else if (a == "--workers")
      o.workers = positive(a, value());
    else if (a == "--chains")
      o.chains = positive(a, value());
    else if (a == "--dir")
      base = value();
    else if (a == "--keep")
      keep = true;
    else
      usage("unknown argument '" + a + "'");
  }
  if (o.atelier.empty()) usage("--atelier is required");
  o.atelier = fs::absolute(o.atelier);
  if (!fs::exists(o.atelier)) usage(o.atelier.string() + " does not exist");

  // Every phase gets a fresh workspace, so a leftover run can never be drained twice.
  if (base.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "atelier-queue-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) usage("cannot create a temporary directory");
    base = tmpl;
  } else {
    base = fs::absolute(base) / "atelier-queue-bench";
    fs::remove_all(base);
    fs::create_directories(base);
  }

  try {
    const EnqueueResult enq = run_enqueue(o, base / "enqueue", base / "cli-submit");
    const DrainResult drain = run_drain(o, base / "enqueue", enq.run_id);
    const DispatchResult disp = run_dispatch(o, base / "dispatch");

    std::string per_worker;
    for (const auto& [w, n] : drain.jobs_per_worker)
      per_worker += (per_worker.empty() ? "" : "/") + std::to_string(n);
    const bool ok = drain.run_state == "succeeded" && drain.succeeded == o.jobs &&
                    disp.failed_runs == 0 && static_cast<int>(disp.dispatch_ms.size()) == o.chains;
    json out = {
        {"system", "atelier"},
        {"jobs", o.jobs},
        {"workers", o.workers},
        {"enqueue_jobs_per_s", std::lround(o.jobs / (enq.in_process_ms / 1000.0))},
        {"drain_jobs_per_s", std::lround(o.jobs / (drain.ms / 1000.0))},
        {"dispatch_p50_ms", r3(percentile(disp.dispatch_ms, 50))},
        {"dispatch_p99_ms", r3(percentile(disp.dispatch_ms, 99))},
        {"dispatch_max_ms", r3(percentile(disp.dispatch_ms, 100))},
        {"idle_pickup_p50_ms", r3(percentile(disp.pickup_ms, 50))},
        {"idle_pickup_p99_ms", r3(percentile(disp.pickup_ms, 99))},
        {"chains", disp.dispatch_ms.size()},
        {"enqueue_ms", r3(enq.in_process_ms)},
        {"enqueue_parse_ms", r3(enq.parse_ms)},
        {"enqueue_expand_ms", r3(enq.expand_ms)},
        {"enqueue_submit_ms", r3(enq.submit_ms)},
        {"cli_submit_ms", r3(enq.cli_submit_ms)},
        {"drain_ms", r3(drain.ms)},
        {"drain_db_span_ms", drain.db_span_ms},
        {"drain_db_jobs_per_s",
         drain.db_span_ms > 0 ? std::lround(o.jobs / (drain.db_span_ms / 1000.0)) : 0},
        {"ok", ok},
        {"notes",
         "enqueue = parse_spec + expand_spec + submit_run in-process (1 txn); cli submit of the "
         "same spec " +
             std::to_string(std::lround(enq.cli_submit_ms)) +
             " ms incl. process start; "
             "drain from first worker spawn to run state '" +
             drain.run_state + "' (first claim " + std::to_string(drain.first_claim_ms) +
             " ms after spawn), succeeded " + std::to_string(drain.succeeded) + "/" +
             std::to_string(o.jobs) + ", extra attempts " + std::to_string(drain.extra_attempts) +
             ", per-worker " + per_worker +
             "; dispatch: " + std::to_string(disp.dispatch_ms.size()) +
             " sequential A->B runs (5 ms idle gap), from DB timestamps at 1 ms resolution, B on "
             "A's worker in " +
             std::to_string(disp.same_worker) + "/" + std::to_string(disp.dispatch_ms.size()) +
             ", failed runs " + std::to_string(disp.failed_runs) +
             "; WAL synchronous=NORMAL; sqlite " + sqlite3_libversion()},
    };
    std::cout << out.dump() << "\n";
    if (!keep) fs::remove_all(base);
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "atelier_queue_bench: " << e.what() << " (workspaces kept in " << base.string()
              << ")\n";
    return 1;
  }
}
