-- PostgreSQL version of schema/0009_disk_full.sql (see 0001_init.sql).
-- A full disk (docs/queue.md "A full disk"): a job whose write met ENOSPC or
-- EDQUOT waits for space without spending an attempt (its attempt ends
-- 'disk_full'), and the folder found full is recorded here, one row per host
-- and folder, from the first such attempt until space comes back (a worker's
-- free-space probe shows room, or a job that had waited for space completes on
-- that host). `atelier status` and the dashboard show these rows.
CREATE TABLE disk_full (
  host       TEXT NOT NULL,    -- where it was seen: a path means something on one host
  path       TEXT NOT NULL,    -- the folder (asset store, its temp folder, attempt logs)
  error      TEXT NOT NULL,    -- the last error seen there
  free_bytes BIGINT NOT NULL,  -- bytes available then (-1: unknown): space is back above it
  since      BIGINT NOT NULL,  -- first seen (ms)
  seen_at    BIGINT NOT NULL,  -- last seen (ms)
  PRIMARY KEY (host, path)
);
