-- Source and licence belong to each import of the bytes, not to the bytes: the
-- same file imported from two places, or under two licences, keeps both records
-- (the licence check judges by the most restrictive). One row per distinct
-- (bytes, source path, licence); licence '' means none was declared.
-- assets.source_path/licence stay as the first import's, for old readers.
CREATE TABLE asset_imports (
  sha256      TEXT NOT NULL REFERENCES assets(sha256),
  source_path TEXT NOT NULL,
  licence     TEXT NOT NULL DEFAULT '',
  imported_by TEXT NOT NULL DEFAULT '',
  imported_at INTEGER NOT NULL,
  PRIMARY KEY (sha256, source_path, licence)
) WITHOUT ROWID;
INSERT INTO asset_imports (sha256, source_path, licence, imported_by, imported_at)
  SELECT sha256, source_path, COALESCE(licence, ''), '', created_at FROM assets
  WHERE source_path IS NOT NULL;
