-- PostgreSQL version of schema/0008_run_confinement.sql (see 0001_init.sql).
-- A run submitted over the API (or by a schedule added over it) may touch only
-- the workspace and the folders atelier.yaml lists (import_roots, export_roots);
-- its workers check model paths and output folders against them when the job
-- runs. Runs from the local CLI are 0: they may read what the OS user can.
ALTER TABLE runs ADD COLUMN confined BIGINT NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN confined BIGINT NOT NULL DEFAULT 0;
