-- PostgreSQL version of schema/0004_keys.sql (see 0001_init.sql).
-- Provenance (issue 8): the Ed25519 public keys whose signatures this workspace
-- trusts. key_id is the first 16 hex digits of the sha256 of the 32-byte public
-- key (provenance/signing.h); public_key is its 64 hex digits. origin is
-- 'workspace' for the workspace's own key (the secret half is keys/workspace.ed25519,
-- never stored here) and 'imported' for a key added by `atelier key import`.
CREATE TABLE signing_keys (
  key_id     TEXT PRIMARY KEY,
  public_key TEXT NOT NULL UNIQUE,
  origin     TEXT NOT NULL CHECK (origin IN ('workspace', 'imported')),
  label      TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
