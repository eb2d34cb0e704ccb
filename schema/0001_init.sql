-- Atelier job database, version 1. Times are Unix epoch milliseconds (INTEGER).
-- Job states: waiting ready leased succeeded dead cancelled skipped.
-- Run states: running succeeded failed cancelled.

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  spec_path     TEXT NOT NULL,
  spec_text     TEXT NOT NULL,
  spec_sha256   TEXT NOT NULL,
  params        TEXT NOT NULL DEFAULT '{}',
  idem_key      TEXT UNIQUE,
  submitter     TEXT NOT NULL,
  state         TEXT NOT NULL DEFAULT 'running',
  unfinished    INTEGER NOT NULL DEFAULT 0,  -- jobs waiting, ready or leased
  created_at    INTEGER NOT NULL,
  finished_at   INTEGER
);
CREATE INDEX runs_state ON runs(state, id);

CREATE TABLE jobs (
  id                  INTEGER PRIMARY KEY,
  run_id              INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage               TEXT NOT NULL,
  kind                TEXT NOT NULL,
  params              TEXT NOT NULL DEFAULT '{}',
  matrix              TEXT NOT NULL DEFAULT '{}',
  state               TEXT NOT NULL,
  priority            INTEGER NOT NULL DEFAULT 0,
  attempt             INTEGER NOT NULL DEFAULT 0,  -- fencing token: bumped by every claim
  failures            INTEGER NOT NULL DEFAULT 0,  -- attempts that count against max_attempts
  max_attempts        INTEGER NOT NULL DEFAULT 3,
  timeout_ms          INTEGER NOT NULL DEFAULT 0,  -- 0: none
  run_after           INTEGER NOT NULL DEFAULT 0,
  deps_left           INTEGER NOT NULL DEFAULT 0,  -- dependencies not yet succeeded
  lease_owner         TEXT,
  lease_expires_at    INTEGER,
  progress            REAL NOT NULL DEFAULT 0,
  progress_msg        TEXT NOT NULL DEFAULT '',
  error               TEXT,
  cancel_requested    INTEGER NOT NULL DEFAULT 0,
  cancel_requested_at INTEGER,
  created_at          INTEGER NOT NULL,
  started_at          INTEGER,
  finished_at         INTEGER
);
CREATE INDEX jobs_claim ON jobs(state, kind, priority DESC, id);

-- A run's jobs by id range: jobs inserted in one write transaction get
-- consecutive ids, so each submission (or later expansion) of a run records one
-- range, and every per-run query is a rowid range scan. This replaces an index
-- on jobs(run_id), which would cost every job insert and state change.
CREATE TABLE run_job_ranges (
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  first_id INTEGER NOT NULL,
  last_id  INTEGER NOT NULL,
  PRIMARY KEY (run_id, first_id)
) WITHOUT ROWID;

CREATE TABLE job_deps (
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  dep_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  PRIMARY KEY (job_id, dep_id)
) WITHOUT ROWID;
CREATE INDEX job_deps_dep ON job_deps(dep_id, job_id);

-- Outcomes: running succeeded failed crashed lease_expired cancelled timeout released.
CREATE TABLE attempts (
  job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt    INTEGER NOT NULL,
  worker_id  TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER,
  outcome    TEXT NOT NULL DEFAULT 'running',
  error      TEXT,
  log_path   TEXT NOT NULL,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;

CREATE TABLE workers (
  id           TEXT PRIMARY KEY,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  kinds        TEXT NOT NULL,
  state        TEXT NOT NULL DEFAULT 'idle',  -- idle busy draining gone
  current_job  INTEGER,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

-- Pause and per-kind concurrency limits (0: unlimited), read by every claim.
CREATE TABLE kind_controls (
  kind            TEXT PRIMARY KEY,
  paused          INTEGER NOT NULL DEFAULT 0,
  max_concurrency INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE assets (
  sha256      TEXT PRIMARY KEY,
  media_type  TEXT NOT NULL,
  ext         TEXT NOT NULL,
  bytes       INTEGER NOT NULL,
  width       INTEGER,
  height      INTEGER,
  duration_ms INTEGER,
  phash       TEXT,
  job_id      INTEGER REFERENCES jobs(id) ON DELETE SET NULL,  -- first producer
  source_path TEXT,                                           -- set for imported files
  licence     TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX assets_job ON assets(job_id);

-- Lineage: what each job produced and consumed (assets), with a role and a name.
CREATE TABLE job_outputs (
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL REFERENCES assets(sha256),
  name   TEXT NOT NULL,
  PRIMARY KEY (job_id, sha256)
) WITHOUT ROWID;
CREATE INDEX job_outputs_asset ON job_outputs(sha256);

CREATE TABLE asset_inputs (
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  role   TEXT NOT NULL,
  PRIMARY KEY (job_id, sha256, role)
) WITHOUT ROWID;
CREATE INDEX asset_inputs_asset ON asset_inputs(sha256);

-- Models by content: shipped or user-supplied weights (path set) and weights a
-- job trained (stored as an asset, path NULL). A name may map to several
-- versions; the newest is the one a bare name means.
CREATE TABLE models (
  sha256     TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  name       TEXT NOT NULL,
  params     TEXT NOT NULL DEFAULT '{}',
  job_id     INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
  path       TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX models_name ON models(name, created_at);

CREATE TABLE checks (
  id         INTEGER PRIMARY KEY,
  sha256     TEXT,
  run_id     INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  job_id     INTEGER REFERENCES jobs(id) ON DELETE CASCADE,
  check_kind TEXT NOT NULL,
  verdict    TEXT NOT NULL,
  score      REAL,
  details    TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE INDEX checks_asset ON checks(sha256);
CREATE INDEX checks_job ON checks(job_id);
CREATE INDEX models_job ON models(job_id);

-- Append-only audit log.
CREATE TABLE events (
  id      INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE schedules (
  name         TEXT PRIMARY KEY,
  cron         TEXT NOT NULL,
  timezone     TEXT NOT NULL DEFAULT 'UTC',
  spec_path    TEXT NOT NULL,
  params       TEXT NOT NULL DEFAULT '{}',
  missed       TEXT NOT NULL DEFAULT 'skip',
  enabled      INTEGER NOT NULL DEFAULT 1,
  next_fire_at INTEGER,
  last_fire_at INTEGER
);
