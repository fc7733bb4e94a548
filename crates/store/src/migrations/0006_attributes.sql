-- patrol schema 6: what an observation records beyond its category (typed
-- attributes, checked against the data model): a JSON object of attribute key
-- to value, keys in order; NULL when there are none (so older versions and
-- their digests are unchanged).
ALTER TABLE observation_versions ADD COLUMN attributes TEXT;
ALTER TABLE observations ADD COLUMN attributes TEXT;
