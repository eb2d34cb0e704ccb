-- The serve daemon (issue 9): schedule fires, API tokens and the hash-chained
-- audit log.

-- One row per scheduled instant a scheduler acted on. The primary key is the
-- idempotency of a fire: whichever serve process gets there first records it,
-- and the run it submits carries the key "schedule:NAME@FIRE_AT", so a fire
-- yields at most one run across restarts and several serve processes.
-- outcome: 'submitted' (run_id set), 'skipped' (missed under policy skip:
-- reason says how many), 'failed' (the spec could not be submitted: error).
CREATE TABLE schedule_fires (
  schedule TEXT NOT NULL,
  fire_at  INTEGER NOT NULL,
  fired_at INTEGER NOT NULL,
  outcome  TEXT NOT NULL CHECK (outcome IN ('submitted', 'skipped', 'failed')),
  run_id   INTEGER,
  detail   TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (schedule, fire_at)
);
ALTER TABLE schedules ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN created_by TEXT NOT NULL DEFAULT '';

-- API tokens for the dashboard's actions. Only the sha256 of the secret is
-- kept; the secret is shown once, when the token is made.
CREATE TABLE tokens (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
  secret_hash  TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  created_by   TEXT NOT NULL DEFAULT '',
  revoked_at   INTEGER,
  last_used_at INTEGER
);

-- The audit log becomes a hash chain: hash = sha256 of the entry (its id, time,
-- actor, action, target, details text) and the previous entry's hash, so an
-- entry edited or deleted anywhere but at the very end breaks every later link
-- (`atelier audit verify`). Entries written before this migration are chained
-- when the store first opens after it.
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
