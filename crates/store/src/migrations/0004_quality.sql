-- patrol schema 4: quality control of tracks (docs/METRICS.md, "Quality control").

-- A person's word on a leg, versioned like every field: the local date of a
-- track without any time, and fixes kept or dropped against the rules.
ALTER TABLE leg_versions ADD COLUMN date TEXT;             -- YYYY-MM-DD, or NULL
ALTER TABLE leg_versions ADD COLUMN fix_overrides TEXT;    -- JSON [{segment, point, keep}], or NULL
ALTER TABLE legs ADD COLUMN date TEXT;
ALTER TABLE legs ADD COLUMN fix_overrides TEXT;

-- Each site's quality-control settings (its data model's [qc]): speed
-- ceilings per transport, the pause and stay limits. A site without a row
-- uses the defaults.
CREATE TABLE qc_settings (
  site_id TEXT NOT NULL PRIMARY KEY,
  settings TEXT NOT NULL             -- JSON, as patrol_core::qc::QcSettings
);

-- Derived, like leg_days, from a leg's (immutable) track and its head
-- version, at import and whenever either changes: what quality control found.
CREATE TABLE leg_qc (
  leg_id TEXT NOT NULL PRIMARY KEY,
  patrol_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  version_id TEXT NOT NULL,          -- the leg version it was derived from
  fixes INTEGER NOT NULL,            -- every fix of the track
  raw_length_m REAL NOT NULL,        -- every pair, as recorded
  length_m REAL NOT NULL,            -- what counts (= the leg's leg_days)
  first_us INTEGER,                  -- earliest and latest kept fix
  last_us INTEGER,
  first_date TEXT,                   -- the date untimed segments take
  warnings TEXT NOT NULL,            -- JSON array: what the rules found
  import_warnings TEXT NOT NULL      -- JSON array: what the import found in the file
);
CREATE INDEX leg_qc_patrol ON leg_qc(patrol_id);

-- Fixes the rules marked: left out of every figure (excluded = 1), or kept by
-- a person's word (excluded = 0). Numbers count from 0, as in `tracks`.
CREATE TABLE fix_marks (
  leg_id TEXT NOT NULL,
  segment_no INTEGER NOT NULL,
  point_no INTEGER NOT NULL,
  mark TEXT NOT NULL,
  excluded INTEGER NOT NULL,
  PRIMARY KEY (leg_id, segment_no, point_no)
) WITHOUT ROWID;

-- About one fix in 16 (by a hash of its second), to find the same track again
-- whatever file, program or device it came through.
CREATE TABLE fix_samples (
  leg_id TEXT NOT NULL,
  t_s INTEGER NOT NULL,
  lon REAL NOT NULL,
  lat REAL NOT NULL,
  PRIMARY KEY (leg_id, t_s, lon, lat)
) WITHOUT ROWID;
CREATE INDEX fix_samples_time ON fix_samples(t_s);
