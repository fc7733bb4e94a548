-- patrol schema 1: a GeoPackage 1.3 with patrol's own tables.
-- Append-only: never edit a migration that has shipped; add 0002_... instead.

-- GeoPackage core (OGC 12-128r18, clauses 1.1.2 and 1.1.3).
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
INSERT INTO gpkg_spatial_ref_sys VALUES
 ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
 ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
 ('WGS 84 geodetic', 4326, 'EPSG', 4326,
  'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
  'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');

CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);

CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);

-- This database: its device id, home site, clock. (GeoPackage owns user_version.)
CREATE TABLE patrol_meta (
  key TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);

-- Every device ever seen, with its site.
CREATE TABLE devices (
  device_id TEXT NOT NULL PRIMARY KEY,
  site_id TEXT NOT NULL,
  first_seen TEXT NOT NULL
);

CREATE TABLE sites (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  timezone TEXT NOT NULL,
  origin_device TEXT NOT NULL
);

-- The data model. A category is identified by its key; origin says where it came from.
CREATE TABLE categories (
  key TEXT NOT NULL PRIMARY KEY,
  label TEXT NOT NULL,
  threat INTEGER NOT NULL,
  aliases TEXT NOT NULL,             -- JSON array
  origin_device TEXT NOT NULL,
  origin_site TEXT NOT NULL
);

-- Versions: a record is a set of immutable versions. Common columns:
-- version_id (UUIDv7), record id, parents (JSON array of version ids, sorted),
-- hlc (hybrid logical clock), device_id and site_id (where the version was
-- made), deleted, digest (blake3 of the version's canonical content).
CREATE TABLE patrol_versions (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id TEXT NOT NULL UNIQUE,
  patrol_id TEXT NOT NULL,
  parents TEXT NOT NULL,
  hlc INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  digest TEXT NOT NULL,
  team TEXT NOT NULL,
  leader TEXT,
  objective TEXT,
  origin_device TEXT NOT NULL,
  source_digest TEXT,
  source_file TEXT
);
CREATE INDEX patrol_versions_record ON patrol_versions(patrol_id);
CREATE INDEX patrol_versions_source ON patrol_versions(source_digest);

CREATE TABLE leg_versions (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id TEXT NOT NULL UNIQUE,
  leg_id TEXT NOT NULL,
  parents TEXT NOT NULL,
  hlc INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  digest TEXT NOT NULL,
  patrol_id TEXT NOT NULL,
  transport TEXT NOT NULL,
  members INTEGER NOT NULL,
  member_names TEXT NOT NULL          -- JSON array
);
CREATE INDEX leg_versions_record ON leg_versions(leg_id);

CREATE TABLE observation_versions (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id TEXT NOT NULL UNIQUE,
  observation_id TEXT NOT NULL,
  parents TEXT NOT NULL,
  hlc INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  digest TEXT NOT NULL,
  patrol_id TEXT NOT NULL,
  category TEXT NOT NULL,
  time_us INTEGER,
  lon REAL NOT NULL,
  lat REAL NOT NULL,
  raw_name TEXT,
  note TEXT
);
CREATE INDEX observation_versions_record ON observation_versions(observation_id);

-- Current state: one row per live record, its head version (the newest head by
-- (hlc, device_id, version_id) when there are several: `heads` > 1 is a conflict).
-- Derived from the versions; rebuilt for a record whenever it gains a version.
CREATE TABLE patrols (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  patrol_id TEXT NOT NULL UNIQUE,
  version_id TEXT NOT NULL,
  heads INTEGER NOT NULL,
  site_id TEXT NOT NULL,
  team TEXT NOT NULL,
  leader TEXT,
  objective TEXT,
  origin_device TEXT NOT NULL,
  source_digest TEXT,
  source_file TEXT
);

CREATE TABLE legs (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  leg_id TEXT NOT NULL UNIQUE,
  version_id TEXT NOT NULL,
  heads INTEGER NOT NULL,
  patrol_id TEXT NOT NULL,
  transport TEXT NOT NULL,
  members INTEGER NOT NULL,
  member_names TEXT NOT NULL
);
CREATE INDEX legs_patrol ON legs(patrol_id);

CREATE TABLE observations (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom POINT,
  observation_id TEXT NOT NULL UNIQUE,
  version_id TEXT NOT NULL,
  heads INTEGER NOT NULL,
  patrol_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  category TEXT NOT NULL,
  threat INTEGER NOT NULL,
  time TEXT,                          -- RFC 3339, UTC, for GIS users
  time_us INTEGER,                    -- exact
  raw_name TEXT,
  note TEXT
);
CREATE INDEX observations_patrol ON observations(patrol_id);

-- Track pieces: immutable. A segment is stored as one or more pieces of at most
-- 4096 points; consecutive pieces of a segment share their joining point, so
-- every pair of consecutive points lies in exactly one piece.
CREATE TABLE tracks (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom LINESTRING,
  piece_id TEXT NOT NULL UNIQUE,
  digest TEXT NOT NULL,               -- blake3 of geom, times, ele
  patrol_id TEXT NOT NULL,
  leg_id TEXT NOT NULL,
  segment_no INTEGER NOT NULL,
  piece_no INTEGER NOT NULL,
  points INTEGER NOT NULL,
  length_m REAL NOT NULL,
  start_time TEXT,
  end_time TEXT,
  times BLOB,                         -- i64 LE microseconds UTC per point; i64::MIN = none
  ele BLOB,                           -- f64 LE metres per point; NaN = none; NULL if no point has one
  device_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  hlc INTEGER NOT NULL
);
CREATE INDEX tracks_leg ON tracks(leg_id, segment_no, piece_no);
CREATE INDEX tracks_patrol ON tracks(patrol_id);

-- Effort per leg and local date, derived at import from the leg's (immutable)
-- track: pairs are attributed to their first point's local date.
CREATE TABLE leg_days (
  leg_id TEXT NOT NULL,
  date TEXT NOT NULL,                 -- YYYY-MM-DD local, or '' for undated track
  patrol_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  points INTEGER NOT NULL,
  length_m REAL NOT NULL,
  seconds REAL NOT NULL,
  active_seconds REAL NOT NULL,
  PRIMARY KEY (leg_id, date)
);
CREATE INDEX leg_days_date ON leg_days(date);

-- Site boundaries (versioned by hlc: the newest is in force).
CREATE TABLE site_boundaries (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTIPOLYGON,
  version_id TEXT NOT NULL UNIQUE,
  site_id TEXT NOT NULL,
  hlc INTEGER NOT NULL,
  device_id TEXT NOT NULL
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
 ('tracks', 'features', 'tracks', 'Patrol tracks: one line per piece of a GPS track segment', 4326),
 ('observations', 'features', 'observations', 'What rangers saw: current version of each observation', 4326),
 ('site_boundaries', 'features', 'site_boundaries', 'Site boundaries', 4326),
 ('patrols', 'attributes', 'patrols', 'Patrols: current version of each', NULL),
 ('legs', 'attributes', 'legs', 'Legs of patrols: current version of each', NULL);
INSERT INTO gpkg_geometry_columns VALUES
 ('tracks', 'geom', 'LINESTRING', 4326, 0, 0),
 ('observations', 'geom', 'POINT', 4326, 0, 0),
 ('site_boundaries', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
