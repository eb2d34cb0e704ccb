-- The dashboard (issue 9): browser sessions, run-end webhooks, and the indexes its keyset pages
-- and charts need to stay fast with a million jobs.

-- A login: only the sha256 of the cookie's random id is kept. A session lasts
-- until expires_at, its logout, or its token's revocation (checked on use).
CREATE TABLE sessions (
  id_hash    TEXT PRIMARY KEY,
  token_id   INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  csrf       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Jobs filtered by state or by kind, newest first (GET /jobs?state=dead).
CREATE INDEX jobs_state_id ON jobs(state, id);
CREATE INDEX jobs_kind_id ON jobs(kind, id);
-- The throughput chart: jobs by finish time, recent ones only.
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;

-- Webhooks (a spec's `notify:`): one row per URL, written with the run. When the
-- run ends, `atelier serve` posts its summary if the end state is listed in
-- on_states (a JSON list), retrying with backoff; next_at is also the lease
-- that keeps two serve processes from posting the same attempt.
-- state: waiting, delivered, failed (attempts exhausted), skipped (state not listed).
CREATE TABLE notifications (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  url        TEXT NOT NULL,
  on_states  TEXT NOT NULL,
  state      TEXT NOT NULL DEFAULT 'waiting',
  attempts   INTEGER NOT NULL DEFAULT 0,
  next_at    INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX notifications_waiting ON notifications(state, next_at) WHERE state = 'waiting';
CREATE INDEX notifications_run ON notifications(run_id);
