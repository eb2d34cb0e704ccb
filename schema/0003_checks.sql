-- Checks (issue 7): perceptual hashes on image assets, the registry of protected
-- works, outputs that do not flow downstream, and gated verdicts.

-- The hashes every image asset gets when it is stored (media/hash/image_hashes.h):
-- assets.phash holds the PDQ hash (64 hex digits), phash_quality its quality
-- (0..100; under 50 the image is unhashable) and colour the 4x4 CIELAB layout.
-- NULL until hashed (a non-image, or an image imported in a format only the
-- media binary decodes: the first check that reads it fills them in).
ALTER TABLE assets ADD COLUMN phash_quality INTEGER;
ALTER TABLE assets ADD COLUMN colour TEXT;

-- forward = 0: a record of the job (a check's report, its chart) that stages
-- downstream do not receive as input. A check stage forwards the assets its gate
-- let through, so a quarantined asset reaches no later stage.
ALTER TABLE job_outputs ADD COLUMN forward INTEGER NOT NULL DEFAULT 1;

-- gate: the check stage's gate ('fail' or 'warn'; NULL for an ad hoc check);
-- quarantined = 1 when that gate kept the asset out of later stages.
ALTER TABLE checks ADD COLUMN gate TEXT;
ALTER TABLE checks ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
CREATE INDEX checks_run ON checks(run_id, quarantined);

-- Protected works the copyright check compares against. Only their hashes are
-- kept, with where they came from: the works themselves are not the workspace's
-- assets. One row per file and label (the same file may be listed twice).
CREATE TABLE registry (
  id            INTEGER PRIMARY KEY,
  label         TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  source_path   TEXT NOT NULL,
  width         INTEGER NOT NULL,
  height        INTEGER NOT NULL,
  phash         TEXT NOT NULL,
  phash_quality INTEGER NOT NULL,
  colour        TEXT NOT NULL,
  added_at      INTEGER NOT NULL,
  UNIQUE (sha256, label)
);
CREATE INDEX registry_label ON registry(label);
