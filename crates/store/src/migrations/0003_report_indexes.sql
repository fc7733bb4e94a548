-- patrol schema 3: indexes for reports over long histories (many years, many sites).
-- The report reads observations by time window and leg days by site and date.
CREATE INDEX observations_time ON observations(time_us);
CREATE INDEX leg_days_site_date ON leg_days(site_id, date);
CREATE INDEX leg_days_patrol ON leg_days(patrol_id, date);
-- Covering: a patrol's first and last times without reading track blobs.
CREATE INDEX tracks_patrol_time ON tracks(patrol_id, start_time, end_time);
