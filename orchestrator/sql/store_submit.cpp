// Submission: a run and all its jobs and dependency edges in one transaction,
// deduplicated by idempotency key.
#include <algorithm>

#include "../ids.h"
#include "common/errors.h"
#include "sql_store.h"

namespace atelier::sql {

SubmitResult SqlStore::submit_run(const NewRun& run) {
  const std::string params_text = run.params.dump();
  // The rows below reference only the run inserted here and each other (by
  // construction), so per-row foreign-key lookups would only cost time on
  // large submissions. The pragma cannot change inside a transaction.
  ForeignKeysOff fk_off(db_);
  WriteTxn txn(db_);
  if (run.idem_key) {
    auto& q = db_.stmt("SELECT id, spec_sha256, params FROM runs WHERE idem_key = ?");
    q.bind(1, *run.idem_key);
    if (q.executeStep()) {
      int64_t id = q.getColumn(0).getInt64();
      std::string sha = q.getColumn(1).getString();
      std::string params = q.getColumn(2).getString();
      q.reset();
      if (sha != run.spec_sha256 || json::parse(params) != run.params) {
        throw InputError(
            "idempotency key '" + *run.idem_key + "' is already used by run " + run_ref(id) +
            " with a different " + (sha != run.spec_sha256 ? "spec" : "set of params") +
            "; use another --key or inspect that run with `atelier status " + run_ref(id) + "`");
      }
      return {id, true};
    }
  }
  const int64_t t = now();
  auto& ins_run = db_.stmt(
      "INSERT INTO runs (name, spec_path, spec_text, spec_sha256, params, idem_key, submitter, "
      "state, created_at, unfinished, confined) VALUES (?,?,?,?,?,?,?, 'running', ?, ?, ?) "
      "RETURNING id");
  ins_run.bind(1, run.name);
  ins_run.bind(2, run.spec_path);
  ins_run.bind(3, run.spec_text);
  ins_run.bind(4, run.spec_sha256);
  ins_run.bind(5, params_text);
  bind_opt(ins_run, 6, run.idem_key);
  ins_run.bind(7, run.submitter);
  ins_run.bind(8, t);
  ins_run.bind(9, int64_t{0});  // insert_jobs counts them in
  ins_run.bind(10, run.confined ? 1 : 0);
  ins_run.executeStep();
  const int64_t run_id = ins_run.getColumn(0).getInt64();
  ins_run.reset();
  for (const RunNotify& n : run.notify) {
    auto& ins =
        db_.stmt("INSERT INTO notifications (run_id, url, on_states, created_at) VALUES (?,?,?,?)");
    ins.bind(1, run_id);
    ins.bind(2, n.url);
    ins.bind(3, json(n.on).dump());
    ins.bind(4, t);
    ins.exec();
    ins.reset();
  }

  const bool any_ready = std::any_of(run.jobs.begin(), run.jobs.end(), [](const NewJob& j) {
    return j.deps.empty() && j.dep_ids.empty();
  });
  insert_jobs(run_id, run.jobs, t);
  if (run.jobs.empty()) {
    auto& done = db_.stmt("UPDATE runs SET state = 'succeeded', finished_at = ? WHERE id = ?");
    done.bind(1, t);
    done.bind(2, run_id);
    done.exec();
  }
  txn.commit();
  if (any_ready) notify_ready();
  return {run_id, false};
}

std::vector<int64_t> SqlStore::insert_jobs(int64_t run_id, const std::vector<NewJob>& jobs,
                                           int64_t t) {
  std::vector<int64_t> ids;
  if (jobs.empty()) return ids;
  ids.reserve(jobs.size());
  auto& ins_job = db_.stmt(
      "INSERT INTO jobs (run_id, stage, kind, params, matrix, state, priority, max_attempts, "
      "timeout_ms, created_at, deps_left) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id");
  // Jobs of one stage share their params: serialise them once per change.
  const json* last_params = nullptr;
  std::string params_text_cache;
  for (const NewJob& j : jobs) {
    if (last_params != j.params.get()) {
      params_text_cache = j.params->dump();
      last_params = j.params.get();
    }
    // Existing dependencies may have succeeded already; new ones have not.
    int64_t deps_left = static_cast<int64_t>(j.deps.size());
    for (int64_t dep : j.dep_ids) {
      auto& q = db_.stmt("SELECT state FROM jobs WHERE id = ?");
      q.bind(1, dep);
      if (!q.executeStep()) throw std::logic_error("dependency on a job that does not exist");
      if (q.getColumn(0).getString() != "succeeded") ++deps_left;
      q.reset();
    }
    ins_job.reset();
    ins_job.bind(1, run_id);
    ins_job.bindNoCopy(2, j.stage);
    ins_job.bindNoCopy(3, j.kind);
    ins_job.bindNoCopy(4, params_text_cache);
    const std::string matrix_text = j.matrix.dump();
    ins_job.bindNoCopy(5, matrix_text);
    ins_job.bind(6, deps_left > 0 ? "waiting" : "ready");
    ins_job.bind(7, j.priority);
    ins_job.bind(8, j.max_attempts);
    ins_job.bind(9, j.timeout_ms);
    ins_job.bind(10, t);
    ins_job.bind(11, deps_left);
    ins_job.executeStep();
    ids.push_back(ins_job.getColumn(0).getInt64());
    ins_job.reset();
  }
  // Ids from one transaction are consecutive (nobody else writes meanwhile);
  // the range table relies on it, so check rather than assume.
  if (ids.back() - ids.front() + 1 != static_cast<int64_t>(ids.size()))
    throw std::logic_error("job ids of one insertion are not consecutive");
  auto& range = db_.stmt("INSERT INTO run_job_ranges (run_id, first_id, last_id) VALUES (?,?,?)");
  range.bind(1, run_id);
  range.bind(2, ids.front());
  range.bind(3, ids.back());
  range.exec();
  auto& ins_dep = db_.stmt("INSERT INTO job_deps (job_id, dep_id) VALUES (?, ?)");
  for (size_t i = 0; i < jobs.size(); ++i) {
    std::vector<int64_t> deps = jobs[i].dep_ids;
    for (size_t d : jobs[i].deps) {
      if (d >= ids.size()) throw std::logic_error("job dependency index out of range");
      deps.push_back(ids[d]);
    }
    std::sort(deps.begin(), deps.end());
    if (std::adjacent_find(deps.begin(), deps.end()) != deps.end())
      throw std::logic_error("a job lists the same dependency twice");
    for (int64_t d : deps) {
      ins_dep.reset();
      ins_dep.bind(1, ids[i]);
      ins_dep.bind(2, d);
      ins_dep.exec();
    }
  }
  add_unfinished(run_id, static_cast<int64_t>(jobs.size()));
  return ids;
}

}  // namespace atelier::sql
