-- patrol schema 2: sync bookkeeping (see docs/SYNC.md).

-- Every file merged into this database, by the blake3 of its bytes: merging a
-- file again is a no-op. Local bookkeeping: never merged onward.
CREATE TABLE ledger (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  file_digest TEXT NOT NULL UNIQUE,
  file_name TEXT NOT NULL,
  device_id TEXT NOT NULL,            -- the device whose database the file is a copy of
  site_id TEXT NOT NULL,
  merged_at TEXT NOT NULL,            -- RFC 3339, UTC
  counts TEXT NOT NULL                -- JSON: what the merge added
);

-- Incoming rows that reuse an id we already hold with different content: kept
-- here for a person to look at, never merged over the row we have.
CREATE TABLE quarantine (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name TEXT NOT NULL,
  row_id TEXT NOT NULL,
  incoming TEXT NOT NULL,             -- JSON object of the incoming row (blobs as hex)
  file_digest TEXT NOT NULL,
  reason TEXT NOT NULL,
  UNIQUE (table_name, row_id, file_digest)
);

-- Who made what when: for finding a copied database (one device id, two histories).
CREATE INDEX patrol_versions_device ON patrol_versions(device_id, hlc);
CREATE INDEX leg_versions_device ON leg_versions(device_id, hlc);
CREATE INDEX observation_versions_device ON observation_versions(device_id, hlc);
CREATE INDEX tracks_device ON tracks(device_id, hlc);
CREATE INDEX site_boundaries_device ON site_boundaries(device_id, hlc);
