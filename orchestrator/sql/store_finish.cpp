// How a lease ends: completion (outputs, lineage, promotion of dependents),
// failure (retry with backoff, or dead; a full disk: ready again without
// spending an attempt, store_space.cpp), cancellation, and the lease rescuer's
// takeover of expired leases. Every path is fenced by (job id, attempt): a
// worker whose lease was taken over changes nothing.
#include <algorithm>

#include "common/errors.h"
#include "sql_store.h"

namespace atelier::sql {

void SqlStore::end_attempt(int64_t job_id, int attempt, std::string_view outcome,
                           const std::string* error) {
  auto& up = db_.stmt(
      "UPDATE attempts SET outcome = ?, ended_at = ?, error = ? WHERE job_id = ? AND attempt = ?");
  up.bind(1, std::string(outcome));
  up.bind(2, now());
  bind_opt(up, 3, error ? std::optional<std::string>(*error) : std::nullopt);
  up.bind(4, job_id);
  up.bind(5, attempt);
  up.exec();
}

int64_t SqlStore::promote_dependents(int64_t job_id) {
  // deps_left counts dependencies not yet succeeded, so promotion costs one
  // row per dependent, however many dependencies that dependent has (fan-in).
  // Dependents are read first and updated by primary key: an IN (subquery)
  // here would build an ephemeral table on every completion.
  std::vector<int64_t> dependents;
  auto& q = db_.stmt("SELECT job_id FROM job_deps WHERE dep_id = ?");
  q.bind(1, job_id);
  while (q.executeStep()) dependents.push_back(q.getColumn(0).getInt64());
  q.reset();
  int64_t ready = 0;
  for (int64_t id : dependents) {
    auto& up = db_.stmt(
        "UPDATE jobs SET deps_left = deps_left - 1, run_after = ?1, "
        "state = CASE WHEN deps_left = 1 THEN 'ready' ELSE state END "
        "WHERE id = ?2 AND state = 'waiting' AND deps_left = 1");
    up.bind(1, now());
    up.bind(2, id);
    up.exec();
    if (db_.changes() > 0) {
      ++ready;
      continue;
    }
    auto& dec =
        db_.stmt("UPDATE jobs SET deps_left = deps_left - 1 WHERE id = ? AND state = 'waiting'");
    dec.bind(1, id);
    dec.exec();
  }
  return ready;
}

void SqlStore::add_unfinished(int64_t run_id, int64_t delta) {
  if (delta == 0) return;
  auto& up = db_.stmt("UPDATE runs SET unfinished = unfinished + ? WHERE id = ?");
  up.bind(1, delta);
  up.bind(2, run_id);
  up.exec();
}

void SqlStore::spawn_jobs(int64_t run_id, int64_t parent, const std::vector<NewJob>& jobs,
                          int64_t t, bool& made_ready) {
  std::vector<int64_t> waiting_on_parent;
  auto& q = db_.stmt("SELECT job_id FROM job_deps WHERE dep_id = ?");
  q.bind(1, parent);
  while (q.executeStep()) waiting_on_parent.push_back(q.getColumn(0).getInt64());
  q.reset();
  const std::vector<int64_t> ids = insert_jobs(run_id, jobs, t);
  made_ready = true;  // spawned jobs whose dependencies all succeeded are ready at once
  // Whatever waited for the parent (the stage as a whole) now waits for its jobs.
  for (int64_t w : waiting_on_parent) {
    for (int64_t id : ids) {
      auto& dep =
          db_.stmt("INSERT INTO job_deps (job_id, dep_id) VALUES (?, ?) ON CONFLICT DO NOTHING");
      dep.bind(1, w);
      dep.bind(2, id);
      dep.exec();
    }
    auto& up =
        db_.stmt("UPDATE jobs SET deps_left = deps_left + ? WHERE id = ? AND state = 'waiting'");
    up.bind(1, static_cast<int64_t>(ids.size()));
    up.bind(2, w);
    up.exec();
  }
}

int64_t SqlStore::skip_downstream(int64_t job_id) {
  auto& up = db_.stmt(
      "WITH RECURSIVE down(id) AS ("
      "  SELECT job_id FROM job_deps WHERE dep_id = ? "
      "  UNION SELECT d.job_id FROM job_deps d JOIN down ON d.dep_id = down.id) "
      "UPDATE jobs SET state = 'skipped', finished_at = ?, "
      "error = 'skipped: an upstream job did not succeed' "
      "WHERE state = 'waiting' AND id IN (SELECT id FROM down)");
  up.bind(1, job_id);
  up.bind(2, now());
  up.exec();
  return db_.changes();
}

void SqlStore::finish_run_if_done(int64_t run_id) {
  auto& open = db_.stmt("SELECT unfinished FROM runs WHERE id = ?");
  open.bind(1, run_id);
  const bool unfinished = open.executeStep() && open.getColumn(0).getInt64() > 0;
  open.reset();
  if (unfinished) return;
  int64_t dead = 0, cancelled = 0, skipped = 0;
  auto& counts = db_.stmt(
      "SELECT j.state, COUNT(*) FROM run_job_ranges r JOIN jobs j ON j.id BETWEEN r.first_id AND "
      "r.last_id "
      "WHERE r.run_id = ? GROUP BY j.state");
  counts.bind(1, run_id);
  while (counts.executeStep()) {
    std::string s = counts.getColumn(0).getString();
    int64_t n = counts.getColumn(1).getInt64();
    if (s == "dead") dead = n;
    if (s == "cancelled") cancelled = n;
    if (s == "skipped") skipped = n;
  }
  counts.reset();
  auto& up =
      db_.stmt("UPDATE runs SET state = ?, finished_at = ? WHERE id = ? AND state = 'running'");
  up.bind(1, std::string(to_string(final_run_state(dead, cancelled, skipped))));
  up.bind(2, now());
  up.bind(3, run_id);
  up.exec();
}

std::vector<FenceResult> SqlStore::complete(const std::vector<Completion>& done) {
  std::vector<FenceResult> results;
  results.reserve(done.size());
  std::vector<std::pair<int64_t, int64_t>>
      runs;  // run -> jobs finished here, checked once for its end
  std::vector<std::string> kinds;
  bool made_ready = false;
  const int64_t t = now();
  WriteTxn txn(db_);
  // A folder seen full: a job that had waited for space completing says it is back.
  auto& full = db_.stmt("SELECT 1 FROM disk_full LIMIT 1");
  const bool shortage = full.executeStep();
  full.reset();
  for (const Completion& c : done) {
    auto& up = db_.stmt(
        "UPDATE jobs SET state = ?, finished_at = ?, lease_owner = NULL, "
        "lease_expires_at = NULL, progress = 1, error = ? "
        "WHERE id = ? AND attempt = ? AND state = 'leased' RETURNING run_id, kind");
    up.bind(1, c.skipped ? "skipped" : "succeeded");
    up.bind(2, t);
    bind_opt(up, 3, c.skipped);
    up.bind(4, c.job_id);
    up.bind(5, c.attempt);
    if (!up.executeStep()) {
      up.reset();
      results.push_back(FenceResult::lost);
      continue;
    }
    const int64_t run_id = up.getColumn(0).getInt64();
    std::string kind = up.getColumn(1).getString();
    up.reset();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
      kinds.push_back(std::move(kind));
    for (const OutputAsset& a : c.outputs) {
      auto& ins = db_.stmt(
          "INSERT INTO assets (sha256, media_type, ext, bytes, width, height, "
          "duration_ms, job_id, created_at, phash, phash_quality, colour) "
          "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET "
          "phash = COALESCE(assets.phash, excluded.phash), "
          "phash_quality = COALESCE(assets.phash_quality, excluded.phash_quality), "
          "colour = COALESCE(assets.colour, excluded.colour)");
      ins.bind(1, a.sha256);
      ins.bind(2, a.media_type);
      ins.bind(3, a.ext);
      ins.bind(4, a.bytes);
      bind_opt(ins, 5, a.width);
      bind_opt(ins, 6, a.height);
      bind_opt(ins, 7, a.duration_ms);
      ins.bind(8, c.job_id);
      ins.bind(9, t);
      bind_hashes(ins, 10, a.hashes);
      ins.exec();
      auto& out = db_.stmt(
          "INSERT INTO job_outputs (job_id, sha256, name, forward) VALUES (?,?,?,?) "
          "ON CONFLICT DO NOTHING");
      out.bind(1, c.job_id);
      out.bind(2, a.sha256);
      out.bind(3, a.name);
      out.bind(4, a.forward ? 1 : 0);
      out.exec();
      for (const InputRef& src : a.sources) {
        auto& link = db_.stmt(
            "INSERT INTO asset_sources (sha256, source_sha256, role, job_id) "
            "VALUES (?,?,?,?) ON CONFLICT DO NOTHING");
        link.bind(1, a.sha256);
        link.bind(2, src.sha256);
        link.bind(3, src.role);
        link.bind(4, c.job_id);
        link.exec();
      }
    }
    for (const InputRef& in : c.inputs) {
      auto& ins = db_.stmt(
          "INSERT INTO asset_inputs (job_id, sha256, role) VALUES (?,?,?) "
          "ON CONFLICT DO NOTHING");
      ins.bind(1, c.job_id);
      ins.bind(2, in.sha256);
      ins.bind(3, in.role);
      ins.exec();
    }
    for (const CheckVerdict& v : c.checks) {
      auto& ins = db_.stmt(
          "INSERT INTO checks (sha256, run_id, job_id, check_kind, verdict, score, details, "
          "created_at, gate, quarantined) VALUES (?,?,?,?,?,?,?,?,?,?)");
      bind_opt(ins, 1, v.sha256);
      ins.bind(2, run_id);
      ins.bind(3, c.job_id);
      ins.bind(4, v.check_kind);
      ins.bind(5, v.verdict);
      bind_opt(ins, 6, v.score);
      ins.bind(7, v.details.dump());
      ins.bind(8, t);
      bind_opt(ins, 9, v.gate);
      ins.bind(10, v.quarantined ? 1 : 0);
      ins.exec();
    }
    for (const ModelRow& m : c.models) register_model(m);
    if (shortage) note_space_back(c.job_id, c.attempt, made_ready);
    end_attempt(c.job_id, c.attempt, "succeeded", nullptr);
    if (!c.spawned.empty()) spawn_jobs(run_id, c.job_id, c.spawned, t, made_ready);
    if (promote_dependents(c.job_id) > 0) made_ready = true;
    auto it =
        std::find_if(runs.begin(), runs.end(), [&](const auto& r) { return r.first == run_id; });
    if (it == runs.end()) {
      runs.emplace_back(run_id, 1);
    } else {
      ++it->second;
    }
    results.push_back(FenceResult::ok);
  }
  for (const auto& [run_id, finished] : runs) {
    add_unfinished(run_id, -finished);
    finish_run_if_done(run_id);
  }
  // A finished job of a kind at its concurrency limit frees a slot: wake the
  // workers that could not claim it.
  for (const std::string& kind : kinds) {
    auto& q = db_.stmt("SELECT 1 FROM kind_controls WHERE kind = ? AND max_concurrency > 0");
    q.bind(1, kind);
    if (q.executeStep()) made_ready = true;
    q.reset();
  }
  txn.commit();
  if (made_ready) notify_ready();
  return results;
}

FenceResult SqlStore::fail_in_txn(int64_t job_id, int attempt, FailKind kind,
                                  const std::string& error, bool& made_ready) {
  auto& q = db_.stmt(
      "SELECT failures, max_attempts, run_id, cancel_requested FROM jobs "
      "WHERE id = ? AND attempt = ? AND state = 'leased'");
  q.bind(1, job_id);
  q.bind(2, attempt);
  if (!q.executeStep()) {
    q.reset();
    return FenceResult::lost;
  }
  int failures = q.getColumn(0).getInt();
  const int max_attempts = q.getColumn(1).getInt();
  const int64_t run_id = q.getColumn(2).getInt64();
  const bool cancel_requested = q.getColumn(3).getInt() != 0;
  q.reset();
  const int64_t t = now();

  std::string next;
  int64_t run_after = t;
  std::string_view outcome = to_string(kind);
  if (kind == FailKind::cancelled || cancel_requested) {
    next = "cancelled";
    outcome = "cancelled";
  } else if (kind == FailKind::released) {
    next = "ready";
  } else if (kind == FailKind::invalid) {
    ++failures;
    next = "dead";
  } else if (kind == FailKind::disk_full) {
    // Not the job's fault: no attempt spent. The wait grows with the job's
    // disk-full attempts so a long outage costs few claims; space coming back
    // releases it early (space_returned, note_space_back).
    auto& n = db_.stmt(
        "SELECT COUNT(*) FROM attempts WHERE job_id = ? AND attempt < ? AND outcome = 'disk_full'");
    n.bind(1, job_id);
    n.bind(2, attempt);
    const int earlier = n.executeStep() ? n.getColumn(0).getInt() : 0;
    n.reset();
    next = "ready";
    RetryPolicy p = retry_;
    p.base_ms = retry_.disk_full_ms;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    run_after = t + backoff_ms(p, earlier + 1, u(rng_));
  } else {
    ++failures;
    if (failures >= max_attempts) {
      next = "dead";
    } else {
      next = "ready";
      std::uniform_real_distribution<double> u(0.0, 1.0);
      run_after = t + backoff_ms(retry_, failures, u(rng_));
    }
  }
  auto& up = db_.stmt(
      "UPDATE jobs SET state = ?, failures = ?, run_after = ?, error = ?, lease_owner = NULL, "
      "lease_expires_at = NULL, finished_at = CASE WHEN ? = 'ready' THEN NULL ELSE ? END "
      "WHERE id = ?");
  up.bind(1, next);
  up.bind(2, failures);
  up.bind(3, run_after);
  up.bind(4, error);
  up.bind(5, next);
  up.bind(6, t);
  up.bind(7, job_id);
  up.exec();
  end_attempt(job_id, attempt, outcome, &error);
  if (next == "ready") {
    made_ready = true;
  } else {
    add_unfinished(run_id, -1 - skip_downstream(job_id));
    finish_run_if_done(run_id);
  }
  return FenceResult::ok;
}

FenceResult SqlStore::fail(int64_t job_id, int attempt, FailKind kind, const std::string& error) {
  bool made_ready = false;
  WriteTxn txn(db_);
  FenceResult r = fail_in_txn(job_id, attempt, kind, error, made_ready);
  txn.commit();
  // Also when the job ended: its lease no longer counts against a kind's limit.
  if (r == FenceResult::ok) notify_ready();
  return r;
}

int SqlStore::rescue_expired_leases() {
  struct Expired {
    int64_t id;
    int attempt;
    std::string owner;
  };
  std::vector<Expired> expired;
  bool made_ready = false;
  WriteTxn txn(db_);
  auto& q = db_.stmt(
      "SELECT id, attempt, COALESCE(lease_owner, '') FROM jobs "
      "WHERE state = 'leased' AND lease_expires_at < ?");
  q.bind(1, now());
  while (q.executeStep())
    expired.push_back(
        {q.getColumn(0).getInt64(), q.getColumn(1).getInt(), q.getColumn(2).getString()});
  q.reset();
  for (const Expired& e : expired) {
    fail_in_txn(e.id, e.attempt, FailKind::lease_expired,
                "lease expired: worker " + e.owner + " stopped heartbeating", made_ready);
  }
  txn.commit();
  if (made_ready) notify_ready();
  return static_cast<int>(expired.size());
}

}  // namespace atelier::sql
