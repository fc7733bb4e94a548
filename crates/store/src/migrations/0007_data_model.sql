-- patrol schema 7: the data model as versioned records, merged like every
-- other record. A definition is one category (record key 'category:KEY'),
-- one attribute ('attribute:KEY') or the model's languages ('languages');
-- each version holds the whole definition as JSON (a Category, an Attribute,
-- a list of language codes, as patrol-core's serde writes them). Versions
-- whose definitions are the same are one definition: two devices that make
-- the same category agree, two that make it differently are a conflict.
CREATE TABLE model_versions (
  version_id TEXT NOT NULL PRIMARY KEY,
  record_key TEXT NOT NULL,
  parents TEXT NOT NULL,             -- JSON array of version ids, sorted
  hlc INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  digest TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX model_versions_record ON model_versions(record_key);

-- The current definitions, derived from model_versions: each record's shown
-- head, and the clock of its first version (the model's order: categories
-- are tried for a waypoint name in the order they were first defined).
-- `categories` stays as the flat projection the SQL reads (label, effective
-- threat, aliases), kept in step with these.
CREATE TABLE model_definitions (
  record_key TEXT NOT NULL PRIMARY KEY,
  version_id TEXT NOT NULL,
  heads INTEGER NOT NULL,
  first_hlc INTEGER NOT NULL,
  body TEXT NOT NULL
);
