-- PostgreSQL version of schema/0002_asset_sources.sql (see 0001_init.sql).
-- Which input each output was made from, where a kind maps inputs to outputs
-- one to one (the caption of an image, the verdict on an image): finer than
-- asset_inputs, which says only what a whole job consumed. The same output bytes
-- made from two inputs (two images with the same caption text) get two rows.
CREATE TABLE asset_sources (
  sha256        TEXT NOT NULL REFERENCES assets(sha256),
  source_sha256 TEXT NOT NULL REFERENCES assets(sha256),
  role          TEXT NOT NULL,
  job_id        BIGINT REFERENCES jobs(id) ON DELETE SET NULL,
  PRIMARY KEY (sha256, source_sha256, role)
);
CREATE INDEX asset_sources_source ON asset_sources(source_sha256);
CREATE INDEX asset_sources_job ON asset_sources(job_id);
