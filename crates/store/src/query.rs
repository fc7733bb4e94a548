//! Reading the database: patrols, sites, the data model, and the facts the
//! report adds up.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use patrol_core::category::{Category, DataModel};
use patrol_core::effort::dated_pairs;
use patrol_core::grid::CoverageInput;
use patrol_core::ids::short_id;
use patrol_core::metrics::{
    LegDay, ObservationFact, Period, QualityInput, ReportInput, SiteInfo, months_ending,
};
use patrol_core::time::{format_utc, local_date, parse_zone};
use patrol_core::{Site, SiteId, Transport};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::{Result, Store, StoreError, gpkg};

/// The site with this id, from the `sites` table; `None` when the database has no such site.
pub fn site(conn: &Connection, id: SiteId) -> Result<Option<Site>> {
    Ok(conn
        .query_row(
            "SELECT name, timezone FROM sites WHERE site_id = ?1",
            [id.to_string()],
            |r| {
                Ok(Site {
                    id,
                    name: r.get(0)?,
                    timezone: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// Every site in the database, ordered by name then id.
pub fn sites(conn: &Connection) -> Result<Vec<Site>> {
    let mut stmt =
        conn.prepare("SELECT site_id, name, timezone FROM sites ORDER BY name, site_id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, timezone) = row?;
        let id = id
            .parse()
            .map_err(|_| StoreError::Invalid(format!("bad site id {id}")))?;
        out.push(Site { id, name, timezone });
    }
    Ok(out)
}

/// An observation as `observation_facts` reads it: id, site, patrol,
/// category, threat, time, geometry, its patrol's first track date.
type FactRow = (
    String,
    String,
    String,
    String,
    bool,
    Option<i64>,
    Vec<u8>,
    Option<String>,
    Option<String>,
);

/// Each site's time zone, by site id.
fn site_zones(conn: &Connection) -> Result<BTreeMap<String, chrono_tz::Tz>> {
    Ok(sites(conn)?
        .into_iter()
        .filter_map(|s| parse_zone(&s.timezone).ok().map(|z| (s.id.to_string(), z)))
        .collect())
}

/// The data model as stored ([`crate::model`]), with default
/// quality-control settings (`Store::data_model` puts in the site's). A
/// database from before schema 7 read without upgrading it has only the flat
/// categories: those, with the shipped model's attributes.
pub fn data_model(conn: &Connection) -> Result<DataModel> {
    match crate::model::read(conn)? {
        Some(model) => Ok(model),
        None => Ok(crate::model::with_shipped_attributes(flat_model(conn)?)),
    }
}

/// The flat `categories` table as a model (in its stored order): labels,
/// threat, aliases; no tree, no attributes.
pub(crate) fn flat_model(conn: &Connection) -> Result<DataModel> {
    Ok(DataModel {
        languages: vec!["en".to_owned()],
        categories: flat_categories(conn)?,
        attributes: Vec::new(),
        qc: patrol_core::qc::QcSettings::default(),
    })
}

/// The rows of the flat `categories` table, in their stored order.
pub(crate) fn flat_categories(conn: &Connection) -> Result<Vec<Category>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, label, threat, aliases FROM categories ORDER BY rowid")?;
    let categories = stmt
        .query_map([], |r| {
            let aliases: String = r.get(3)?;
            Ok(Category {
                key: r.get(0)?,
                label: r.get(1)?,
                labels: std::collections::BTreeMap::new(),
                parent: None,
                threat: Some(r.get(2)?),
                attributes: Vec::new(),
                active: true,
                aliases: serde_json::from_str(&aliases).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(categories)
}

/// One line of `patrol patrols`.
#[derive(Clone, Debug, Serialize)]
pub struct PatrolSummary {
    /// The patrol's full id (UUID text).
    pub patrol_id: String,
    /// The short display id (the last 8 hex digits of `patrol_id`).
    pub short_id: String,
    /// The site's name (`""` when the site is not in the database).
    pub site: String,
    /// The patrol's team.
    pub team: String,
    /// The patrol leader's name; `None` when none was given.
    pub leader: Option<String>,
    /// The distinct transports of its legs (e.g. `["foot", "vehicle"]`).
    pub transport: Vec<String>,
    /// The most members of any of its legs (0 without legs).
    pub members: u32,
    /// The earliest first time of its track pieces, RFC 3339 UTC, as recorded (fixes quality control left out included); `None` without any time.
    pub start: Option<String>,
    /// The latest last time of its track pieces, RFC 3339 UTC, as recorded; `None` without any time.
    pub end: Option<String>,
    /// The first local date (YYYY-MM-DD, site zone) with effort; `None` when it has no dated effort (an undated track).
    pub first_date: Option<String>,
    /// The last local date (YYYY-MM-DD, site zone) with effort; `None` when it has no dated effort.
    pub last_date: Option<String>,
    /// Counted track length of its live legs (kept fixes only), km.
    pub km: f64,
    /// Patrol time of its live legs (pairs up to the pause limit apart), hours.
    pub hours: f64,
    /// Kept fixes of its live legs (those quality control left out are not counted).
    pub track_points: u64,
    /// Its live observations.
    pub observations: u64,
    /// Those of its observations whose category is a threat.
    pub threats: u64,
    /// The name (without directory) of the GPX file it was imported from; `None` when it came from no file.
    pub source_file: Option<String>,
    /// The id of the device that created the patrol.
    pub origin_device: String,
    /// Whether the patrol record has several heads (edited on two devices, not yet resolved).
    pub conflict: bool,
    /// The site, as every output names one: `site_id` and `site_name`
    /// (`site` above is the same name, kept).
    pub site_id: String,
    /// The site's name (the same as `site`).
    pub site_name: String,
    /// The imported file's name (the same as `source_file`, kept).
    pub file: Option<String>,
}

/// A patrol with its legs and observations (`patrol show`).
#[derive(Clone, Debug, Serialize)]
pub struct PatrolDetail {
    /// The patrol's summary line, its fields flattened into the JSON.
    #[serde(flatten)]
    pub summary: PatrolSummary,
    /// The patrol's objective as entered; `None` when none was given.
    pub objective: Option<String>,
    /// Its live legs, by leg id.
    pub legs: Vec<LegRow>,
    /// Effort per local date, all its legs summed, by date (the undated row first).
    pub days: Vec<DayRow>,
    /// Its observations, by time (untimed ones first), then id.
    pub observations: Vec<ObservationRow>,
    /// Track segments of the patrol (of every leg, as stored).
    pub segments: u64,
    /// Stored versions of the patrol, its legs and its observations together.
    pub versions: u64,
    /// What quality control and the import found, with what it left out.
    pub warnings: Vec<patrol_core::effort::Warning>,
    /// Fixes the rules marked: left out, or kept by a person's word.
    pub marked_fixes: Vec<MarkedFixRow>,
    /// The track's length as recorded, every pair counted, km.
    pub recorded_km: f64,
}

/// A fix quality control marked (`patrol show`). Segment and point count
/// from 1, as `edit patrol --keep-fix/--drop-fix` take them.
#[derive(Clone, Debug, Serialize)]
pub struct MarkedFixRow {
    /// Track segment of the fix, counted from 1 within its leg.
    pub segment: u32,
    /// Index of the fix in its segment, counted from 1.
    pub point: u32,
    /// The rule that marked it (`null_island`, `spike`, `stale_fix`, `stay`, `dropped_fix`).
    pub mark: String,
    /// Whether the fix is left out of the figures (false when a person kept it).
    pub excluded: bool,
    /// The fix's time, RFC 3339 UTC; `None` when the fix has none.
    pub time: Option<String>,
    /// Latitude, WGS84 degrees (y).
    pub lat: f64,
    /// Longitude, WGS84 degrees (x).
    pub lon: f64,
}

/// One leg of a patrol (`patrol show`): one transport and one group of people.
#[derive(Clone, Debug, Serialize)]
pub struct LegRow {
    /// The leg's full id.
    pub leg_id: String,
    /// The short display id (the last 8 hex digits of `leg_id`).
    pub short_id: String,
    /// The leg's transport (`foot`, `vehicle`, `motorbike`, `boat`, `aircraft`).
    pub transport: String,
    /// The number of people on the leg (each counts in `person_days`).
    pub members: u32,
    /// Their names as entered (empty when none were given).
    pub member_names: Vec<String>,
}

/// A patrol's effort on one local date, its legs summed (`patrol show`).
#[derive(Clone, Debug, Serialize)]
pub struct DayRow {
    /// The local date; `None` (JSON `null`) for a track without any time.
    pub date: Option<String>,
    /// Counted track length on the date (pairs whose first kept fix is on it), km.
    pub km: f64,
    /// Patrol time on the date (pairs up to the pause limit apart, split at midnight), hours.
    pub hours: f64,
    /// The same without pairs more than 30 minutes apart, hours.
    pub active_hours: f64,
    /// Kept fixes on the date.
    pub track_points: u64,
}

/// An observation of a patrol (`patrol show`).
#[derive(Clone, Debug, Serialize)]
pub struct ObservationRow {
    /// The observation's full id.
    pub observation_id: String,
    /// The short display id (the last 8 hex digits of `observation_id`).
    pub short_id: String,
    /// Its category key in the data model (`other` when nothing matched).
    pub category: String,
    /// Whether its category is a threat.
    pub threat: bool,
    /// Its time, RFC 3339 UTC; `None` when it has none (it takes its patrol's first track date).
    pub time: Option<String>,
    /// Latitude, WGS84 degrees (y); NaN when the stored point cannot be read.
    pub lat: f64,
    /// Longitude, WGS84 degrees (x); NaN when the stored point cannot be read.
    pub lon: f64,
    /// The waypoint's `<name>` as in the file, before matching; `None` when it had none or was entered by hand without one.
    pub raw_name: Option<String>,
    /// A note: the waypoint's `<desc>` (else `<cmt>`) or a person's; `None` when there is none.
    pub note: Option<String>,
    /// What was recorded about it, by attribute key: a number, a yes/no, a
    /// text or an item's key (`data-model show` gives their labels); `{}` when nothing was.
    pub attributes: patrol_core::attribute::Values,
}

impl ObservationRow {
    fn with_attributes(mut self, stored: Option<&str>) -> Result<Self> {
        self.attributes = crate::records::attributes_from(stored)?;
        Ok(self)
    }
}

const SUMMARY_SQL: &str = "
SELECT p.patrol_id, s.name, p.team, p.leader,
  (SELECT group_concat(DISTINCT transport) FROM legs l WHERE l.patrol_id = p.patrol_id),
  (SELECT coalesce(max(members), 0) FROM legs l WHERE l.patrol_id = p.patrol_id),
  (SELECT min(start_time) FROM tracks t WHERE t.patrol_id = p.patrol_id),
  (SELECT max(end_time) FROM tracks t WHERE t.patrol_id = p.patrol_id),
  (SELECT min(date) FROM leg_days d WHERE d.patrol_id = p.patrol_id AND date <> ''),
  (SELECT max(date) FROM leg_days d WHERE d.patrol_id = p.patrol_id AND date <> ''),
  (SELECT coalesce(sum(length_m), 0) FROM leg_days d JOIN legs l USING (leg_id) WHERE d.patrol_id = p.patrol_id),
  (SELECT coalesce(sum(seconds), 0) FROM leg_days d JOIN legs l USING (leg_id) WHERE d.patrol_id = p.patrol_id),
  (SELECT coalesce(sum(points), 0) FROM leg_days d JOIN legs l USING (leg_id) WHERE d.patrol_id = p.patrol_id),
  (SELECT count(*) FROM observations o WHERE o.patrol_id = p.patrol_id),
  (SELECT count(*) FROM observations o WHERE o.patrol_id = p.patrol_id AND o.threat),
  p.source_file, p.origin_device, p.heads > 1, p.objective, p.site_id
FROM patrols p LEFT JOIN sites s ON s.site_id = p.site_id";

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(PatrolSummary, Option<String>)> {
    let transport: Option<String> = r.get(4)?;
    let patrol_id: String = r.get(0)?;
    Ok((
        PatrolSummary {
            short_id: short_id(&patrol_id).to_owned(),
            patrol_id,
            site: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            site_id: r.get(19)?,
            site_name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            team: r.get(2)?,
            leader: r.get(3)?,
            transport: transport
                .map(|t| t.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            members: r.get(5)?,
            start: r.get(6)?,
            end: r.get(7)?,
            first_date: r.get(8)?,
            last_date: r.get(9)?,
            km: r.get::<_, f64>(10)? / 1000.0,
            hours: r.get::<_, f64>(11)? / 3600.0,
            track_points: r.get::<_, i64>(12)? as u64,
            observations: r.get::<_, i64>(13)? as u64,
            threats: r.get::<_, i64>(14)? as u64,
            source_file: r.get(15)?,
            file: r.get(15)?,
            origin_device: r.get(16)?,
            conflict: r.get(17)?,
        },
        r.get(18)?,
    ))
}

impl Store {
    /// Live patrols with track or observations on local dates in [from, to]
    /// (all patrols when no range), oldest first.
    pub fn patrols(&self, range: Option<(NaiveDate, NaiveDate)>) -> Result<Vec<PatrolSummary>> {
        let sql = format!(
            "{SUMMARY_SQL} WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM leg_days d WHERE d.patrol_id = p.patrol_id
               AND d.date BETWEEN ?1 AND ?2)
             ORDER BY (SELECT min(start_time) FROM tracks t WHERE t.patrol_id = p.patrol_id), p.patrol_id"
        );
        let (from, to) = range.map_or((None, None), |(a, b)| {
            (Some(a.to_string()), Some(b.to_string()))
        });
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![from, to], summary_row)?;
        Ok(rows
            .map(|r| r.map(|(s, _)| s))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Find a live patrol by its id, a prefix or its short id (the one
    /// resolver, [`Store::resolve_record`], then a check that it is live).
    pub fn resolve_patrol(&self, text: &str) -> Result<String> {
        self.resolve_live(crate::records::Kind::Patrol, text)
    }

    /// A live patrol with its legs, days, observations, warnings and marked fixes (`patrol show`); `text` as `resolve_patrol` takes it.
    pub fn patrol_detail(&self, id: &str) -> Result<PatrolDetail> {
        let id = self.resolve_patrol(id)?;
        let (summary, objective) = self.conn.query_row(
            &format!("{SUMMARY_SQL} WHERE p.patrol_id = ?1"),
            [&id],
            summary_row,
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT leg_id, transport, members, member_names FROM legs WHERE patrol_id = ?1 ORDER BY leg_id",
        )?;
        let legs = stmt
            .query_map([&id], |r| {
                let names: String = r.get(3)?;
                let leg_id: String = r.get(0)?;
                Ok(LegRow {
                    short_id: short_id(&leg_id).to_owned(),
                    leg_id,
                    transport: r.get(1)?,
                    members: r.get(2)?,
                    member_names: serde_json::from_str(&names).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT date, sum(length_m), sum(seconds), sum(active_seconds), sum(points) FROM leg_days
             WHERE patrol_id = ?1 GROUP BY date ORDER BY date",
        )?;
        let days = stmt
            .query_map([&id], |r| {
                Ok(DayRow {
                    date: Some(r.get::<_, String>(0)?).filter(|d| !d.is_empty()),
                    km: r.get::<_, f64>(1)? / 1000.0,
                    hours: r.get::<_, f64>(2)? / 3600.0,
                    active_hours: r.get::<_, f64>(3)? / 3600.0,
                    track_points: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT observation_id, category, threat, time_us, geom, raw_name, note, attributes FROM observations
             WHERE patrol_id = ?1 ORDER BY time_us, observation_id",
        )?;
        let observations = stmt
            .query_map([&id], |r| {
                let attributes: Option<String> = r.get(7)?;
                let blob: Vec<u8> = r.get(4)?;
                let (lon, lat) = gpkg::read_point(&blob).unwrap_or((f64::NAN, f64::NAN));
                let observation_id: String = r.get(0)?;
                Ok(ObservationRow {
                    short_id: short_id(&observation_id).to_owned(),
                    observation_id,
                    category: r.get(1)?,
                    threat: r.get(2)?,
                    time: r.get::<_, Option<i64>>(3)?.map(format_utc),
                    lat,
                    lon,
                    raw_name: r.get(5)?,
                    note: r.get(6)?,
                    attributes: patrol_core::attribute::Values::new(),
                }
                .with_attributes(attributes.as_deref()))
            })?
            .map(|row| row.map_err(StoreError::from).and_then(|r| r))
            .collect::<Result<Vec<_>>>()?;
        let segments: i64 = self.conn.query_row(
            "SELECT count(DISTINCT leg_id || ':' || segment_no) FROM tracks WHERE patrol_id = ?1",
            [&id],
            |r| r.get(0),
        )?;
        let versions: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM patrol_versions WHERE patrol_id = ?1)
                  + (SELECT count(*) FROM leg_versions WHERE patrol_id = ?1)
                  + (SELECT count(*) FROM observation_versions WHERE patrol_id = ?1)",
            [&id],
            |r| r.get(0),
        )?;
        let (warnings, recorded_km) = self.patrol_warnings(&id)?;
        Ok(PatrolDetail {
            summary,
            objective,
            legs,
            days,
            observations,
            segments: segments as u64,
            versions: versions as u64,
            warnings,
            marked_fixes: self.marked_fixes(&id)?,
            recorded_km,
        })
    }

    /// A patrol's warnings (the import's, then quality control's) and its
    /// recorded km, over its live legs.
    fn patrol_warnings(&self, patrol: &str) -> Result<(Vec<patrol_core::effort::Warning>, f64)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT q.import_warnings, q.warnings, q.raw_length_m FROM leg_qc q JOIN legs l USING (leg_id)
             WHERE q.patrol_id = ?1 ORDER BY q.leg_id",
        )?;
        let rows = stmt.query_map([patrol], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        let (mut out, mut km) = (Vec::new(), 0.0);
        for row in rows {
            let (a, b, raw) = row?;
            for text in [a, b] {
                out.extend(
                    serde_json::from_str::<Vec<patrol_core::effort::Warning>>(&text)
                        .map_err(|e| StoreError::Invalid(format!("warnings of {patrol}: {e}")))?,
                );
            }
            km += raw / 1000.0;
        }
        Ok((out, km))
    }

    /// The fixes quality control marked on a patrol's live legs, with where and when.
    fn marked_fixes(&self, patrol: &str) -> Result<Vec<MarkedFixRow>> {
        let legs: Vec<String> = self
            .conn
            .prepare_cached("SELECT leg_id FROM legs WHERE patrol_id = ?1 ORDER BY leg_id")?
            .query_map([patrol], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for leg in legs {
            let marks: Vec<(i64, i64, String, bool)> = self
                .conn
                .prepare_cached(
                    "SELECT segment_no, point_no, mark, excluded FROM fix_marks WHERE leg_id = ?1
                     ORDER BY segment_no, point_no",
                )?
                .query_map([&leg], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            if marks.is_empty() {
                continue;
            }
            let segments = crate::derive::segments(&self.conn, &leg)?;
            for (seg, point, mark, excluded) in marks {
                let Some(fix) = segments
                    .get(seg as usize)
                    .and_then(|s| s.get(point as usize))
                else {
                    continue;
                };
                out.push(MarkedFixRow {
                    segment: seg as u32 + 1,
                    point: point as u32 + 1,
                    mark,
                    excluded,
                    time: fix.time.map(format_utc),
                    lat: fix.lat,
                    lon: fix.lon,
                });
            }
        }
        Ok(out)
    }

    /// Effort per (leg, local date) of live patrols and legs, for dates in [from, to].
    pub fn leg_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        site: Option<SiteId>,
    ) -> Result<Vec<LegDay>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.site_id, d.patrol_id, d.leg_id, p.team, l.transport, l.members, d.date, d.points,
                    d.length_m, d.seconds, d.active_seconds
             FROM leg_days d JOIN legs l ON l.leg_id = d.leg_id JOIN patrols p ON p.patrol_id = d.patrol_id
             WHERE d.date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR d.site_id = ?3)
             ORDER BY d.date, d.leg_id",
        )?;
        let rows = stmt.query_map(
            params![
                from.to_string(),
                to.to_string(),
                site.map(|s| s.to_string())
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, u32>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, f64>(8)?,
                    r.get::<_, f64>(9)?,
                    r.get::<_, f64>(10)?,
                ))
            },
        )?;
        let bad =
            |what: &str, v: &str| StoreError::Invalid(format!("bad {what} '{v}' in leg_days"));
        let mut out = Vec::new();
        for row in rows {
            let (
                site,
                patrol,
                leg,
                team,
                transport,
                members,
                date,
                points,
                length_m,
                seconds,
                active,
            ) = row?;
            out.push(LegDay {
                site: site.parse().map_err(|_| bad("site", &site))?,
                patrol: patrol.parse().map_err(|_| bad("patrol", &patrol))?,
                leg: leg.parse().map_err(|_| bad("leg", &leg))?,
                team,
                transport: transport
                    .parse::<Transport>()
                    .map_err(|_| bad("transport", &transport))?,
                members,
                date: date.parse().map_err(|_| bad("date", &date))?,
                points: points as u64,
                length_m,
                seconds,
                active_seconds: active,
            });
        }
        Ok(out)
    }

    /// Kilometres of track that no time dates (a GPX without times).
    pub fn undated_km(&self, site: Option<SiteId>) -> Result<f64> {
        let m: f64 = self.conn.query_row(
            "SELECT coalesce(sum(d.length_m), 0) FROM leg_days d JOIN legs l USING (leg_id)
             JOIN patrols p ON p.patrol_id = d.patrol_id
             WHERE d.date = '' AND (?1 IS NULL OR d.site_id = ?1)",
            [site.map(|s| s.to_string())],
            |r| r.get(0),
        )?;
        Ok(m / 1000.0)
    }

    /// Live observations that may fall on local dates in [from, to] (a window
    /// wide enough for any zone; the report filters by exact local date), plus
    /// every observation without a time, with its local date (own time, else
    /// its patrol's first track date) in its patrol's site's zone.
    pub fn observation_facts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        site: Option<SiteId>,
    ) -> Result<Vec<ObservationFact>> {
        // Zones are at most 14 hours from UTC: a day's margin on each side is safe.
        let lo = patrol_core::time::local_midnight(from.pred_opt().unwrap_or(from), chrono_tz::UTC);
        let hi = patrol_core::time::local_midnight(
            to.succ_opt().and_then(|d| d.succ_opt()).unwrap_or(to),
            chrono_tz::UTC,
        );
        let zones = site_zones(&self.conn)?;
        let (lo_date, hi_date) = (
            from.pred_opt().unwrap_or(from).to_string(),
            to.succ_opt().unwrap_or(to).to_string(),
        );
        let site = site.map(|s| s.to_string());
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<FactRow> {
            Ok((
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        };
        // Timed ones by the time index (in its order), then the untimed ones
        // in table order: those whose patrol's first track date (the least
        // dated leg_days row) is in the window, found from the window's
        // rows by the date index, and those whose patrol has no dated track
        // (CROSS JOIN and `+` keep SQLite from walking every untimed one).
        // Each row becomes a fact as it is read (the raw rows of ten years
        // are never held together).
        let mut out = Vec::new();
        let mut add = |fact: FactRow| -> Result<()> {
            let (id, site, patrol, category, threat, time, geom, first_date, attributes) = fact;
            let bad = |what: &str| StoreError::Invalid(format!("bad {what} in observation {id}"));
            let zone = zones.get(&site).copied().unwrap_or(chrono_tz::UTC);
            let date = match time {
                Some(t) => Some(local_date(t, zone)),
                None => first_date.and_then(|d| d.parse().ok()),
            };
            let (lon, lat) = gpkg::read_point(&geom).map_err(|_| bad("geometry"))?;
            out.push(ObservationFact {
                id: id.parse().map_err(|_| bad("id"))?,
                site: site.parse().map_err(|_| bad("site"))?,
                patrol: patrol.parse().map_err(|_| bad("patrol"))?,
                category,
                threat,
                date,
                lon,
                lat,
                attributes: crate::records::attributes_from(attributes.as_deref())?,
            });
            Ok(())
        };
        let mut timed = self.conn.prepare_cached(
            "SELECT o.fid, o.observation_id, o.site_id, o.patrol_id, o.category, o.threat, o.time_us, o.geom, NULL, o.attributes
                 FROM observations o JOIN patrols p ON p.patrol_id = o.patrol_id
                 WHERE (?1 IS NULL OR o.site_id = ?1) AND o.time_us BETWEEN ?2 AND ?3
                 ORDER BY o.time_us, o.fid",
        )?;
        for fact in timed.query_map(params![site, lo, hi], row)? {
            add(fact?)?;
        }
        let mut untimed = self.conn.prepare_cached(
            "SELECT o.fid, o.observation_id, o.site_id, o.patrol_id, o.category, o.threat, o.time_us, o.geom, c.first, o.attributes
                 FROM (SELECT x.patrol_id, min(x.date) AS first FROM leg_days x
                       WHERE x.date BETWEEN ?2 AND ?3
                         AND NOT EXISTS (SELECT 1 FROM leg_days y WHERE y.patrol_id = x.patrol_id
                                           AND y.date > '' AND y.date < ?2)
                       GROUP BY x.patrol_id) c
                 CROSS JOIN observations o ON o.patrol_id = c.patrol_id AND +o.time_us IS NULL
                 JOIN patrols p ON p.patrol_id = o.patrol_id
                 WHERE (?1 IS NULL OR o.site_id = ?1)
                 UNION ALL
                 SELECT o.fid, o.observation_id, o.site_id, o.patrol_id, o.category, o.threat, o.time_us, o.geom, NULL, o.attributes
                 FROM patrols p CROSS JOIN observations o ON o.patrol_id = p.patrol_id AND +o.time_us IS NULL
                 WHERE (?1 IS NULL OR o.site_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM leg_days d WHERE d.patrol_id = p.patrol_id AND d.date > '')
                 ORDER BY 1",
        )?;
        for fact in untimed.query_map(params![site, lo_date, hi_date], row)? {
            add(fact?)?;
        }
        Ok(out)
    }

    /// Track lines (lon, lat) of live patrols, cut to the kept pairs whose
    /// first fix's local date is in [from, to] (the rule `km` follows, through
    /// [`patrol_core::effort::dated_pairs`]), so that coverage km and the map
    /// agree with the report. Fixes quality control left out are left out here.
    pub fn track_lines(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        site: Option<SiteId>,
    ) -> Result<Vec<Vec<(f64, f64)>>> {
        let mut out = Vec::new();
        self.each_track_line(from, to, site, |line| out.push(line))?;
        Ok(out)
    }

    /// [`Store::track_lines`] one line at a time, in the same order: only
    /// one leg's track is held.
    pub fn each_track_line(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        site: Option<SiteId>,
        mut f: impl FnMut(Vec<(f64, f64)>),
    ) -> Result<()> {
        let zones = site_zones(&self.conn)?;
        // The period's live legs of live patrols, from the date index; their
        // pieces and marks are then read with one statement each (a
        // statement a leg costs more than the reading over ten years).
        // (`?3 IS NULL OR` would keep SQLite from the site's date index.)
        let of_site = if site.is_some() {
            "d.site_id = ?3"
        } else {
            "?3 IS NULL"
        };
        let legs_sql = format!(
            "SELECT DISTINCT d.leg_id FROM leg_days d
             JOIN legs l ON l.leg_id = d.leg_id JOIN patrols p ON p.patrol_id = d.patrol_id
             WHERE d.date BETWEEN ?1 AND ?2 AND {of_site}"
        );
        let legs_sql = legs_sql.as_str();
        let params = params![
            from.to_string(),
            to.to_string(),
            site.map(|s| s.to_string())
        ];
        let legs: BTreeMap<String, (String, Option<String>)> = self
            .conn
            .prepare_cached(&format!(
                "SELECT DISTINCT d.leg_id, d.site_id, coalesce(q.first_date, l.date) FROM leg_days d
                 JOIN legs l ON l.leg_id = d.leg_id JOIN patrols p ON p.patrol_id = d.patrol_id
                 LEFT JOIN leg_qc q ON q.leg_id = d.leg_id
                 WHERE d.date BETWEEN ?1 AND ?2 AND {of_site}"
            ))?
            .query_map(params, |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<rusqlite::Result<_>>()?;
        let mut excluded: BTreeMap<String, std::collections::BTreeSet<(i64, i64)>> =
            BTreeMap::new();
        {
            let mut marks = self.conn.prepare_cached(&format!(
                "SELECT leg_id, segment_no, point_no FROM fix_marks
                 WHERE excluded AND leg_id IN ({legs_sql})"
            ))?;
            let mut rows = marks.query(params)?;
            while let Some(r) = rows.next()? {
                excluded
                    .entry(r.get(0)?)
                    .or_default()
                    .insert((r.get(1)?, r.get(2)?));
            }
        }
        let none = std::collections::BTreeSet::new();
        crate::derive::each_legs_segments(
            &self.conn,
            &format!(
                "SELECT leg_id, segment_no, geom, points, times FROM tracks
                 WHERE leg_id IN ({legs_sql}) ORDER BY leg_id, segment_no, piece_no"
            ),
            params,
            |leg, segments| {
                let Some((site_id, first_date)) = legs.get(leg) else {
                    return Ok(());
                };
                let zone = zones.get(site_id).copied().unwrap_or(chrono_tz::UTC);
                let first_date = first_date.as_deref().and_then(|d| d.parse().ok());
                let excluded = excluded.get(leg).unwrap_or(&none);
                for (seg_no, fixes) in segments.iter().enumerate() {
                    let mask: Vec<bool> = (0..fixes.len())
                        .map(|i| excluded.contains(&(seg_no as i64, i as i64)))
                        .collect();
                    let mut run: Vec<(f64, f64)> = Vec::new();
                    for (a, b, date) in dated_pairs(fixes, &mask, zone, first_date) {
                        if date.is_some_and(|d| (from..=to).contains(&d)) {
                            if run.is_empty() {
                                run.push((fixes[a].lon, fixes[a].lat));
                            }
                            run.push((fixes[b].lon, fixes[b].lat));
                        } else if !run.is_empty() {
                            run.shrink_to_fit();
                            f(std::mem::take(&mut run));
                        }
                    }
                    if !run.is_empty() {
                        run.shrink_to_fit();
                        f(run);
                    }
                }
                Ok(())
            },
        )
    }

    /// The boundary in force for a site: polygons of rings of (lon, lat).
    pub fn boundary(&self, site: SiteId) -> Result<Option<Vec<gpkg::Rings>>> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT geom FROM site_boundaries WHERE site_id = ?1 ORDER BY hlc DESC, version_id DESC LIMIT 1",
                [site.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        blob.map(|b| gpkg::read_multi_polygon(&b).map_err(|e| StoreError::Invalid(e.to_string())))
            .transpose()
    }

    /// The sites of the database, by name.
    pub fn sites(&self) -> Result<Vec<Site>> {
        sites(&self.conn)
    }

    /// Everything the report of `query` is computed from
    /// ([`patrol_core::metrics::build_report`]): the facts of the period, the
    /// baseline and the trend's months, each site's boundary and the period's
    /// track lines, what quality control found.
    pub fn report_input(&self, query: &ReportQuery) -> Result<ReportInput> {
        let mut input = self.report_facts(query)?;
        let mut lines: BTreeMap<SiteId, Vec<Vec<(f64, f64)>>> = BTreeMap::new();
        self.each_report_line(query, |site, line| {
            lines.entry(site).or_default().push(line);
        })?;
        for (site, lines) in lines {
            input
                .coverage
                .entry(site)
                .or_insert_with(|| CoverageInput::from_rings(&[], query.grid_m, Vec::new()))
                .lines = lines;
        }
        Ok(input)
    }

    /// The period's track lines of [`Store::report_input`], one at a time
    /// with its site, the sites in id order (as `ReportInput::coverage`):
    /// for `patrol_core::metrics::build_report_streamed`.
    pub fn each_report_line(
        &self,
        query: &ReportQuery,
        mut f: impl FnMut(SiteId, Vec<(f64, f64)>),
    ) -> Result<()> {
        let mut ids: Vec<SiteId> = self
            .sites()?
            .iter()
            .map(|s| s.id)
            .filter(|&id| query.site.is_none_or(|q| q == id))
            .collect();
        ids.sort_unstable();
        for id in ids {
            self.each_track_line(query.period.from, query.period.to, Some(id), |line| {
                f(id, line);
            })?;
        }
        Ok(())
    }

    /// Each site's boundary of the report of `query` (its
    /// `ReportInput::coverage`, without lines; a site without a boundary is
    /// not in it): each site gets its own grid.
    pub fn report_coverage(&self, query: &ReportQuery) -> Result<BTreeMap<SiteId, CoverageInput>> {
        let mut coverage = BTreeMap::new();
        for s in self
            .sites()?
            .iter()
            .filter(|s| query.site.is_none_or(|id| id == s.id))
        {
            let boundary = self.boundary(s.id)?.unwrap_or_default();
            if boundary.is_empty() {
                continue;
            }
            coverage.insert(
                s.id,
                CoverageInput::from_rings(&boundary, query.grid_m, Vec::new()),
            );
        }
        Ok(coverage)
    }

    /// [`Store::report_input`] but for the track lines: each site's
    /// boundary is in `coverage`, without lines (a site without a boundary
    /// is not); [`Store::each_report_line`] gives them.
    pub fn report_facts(&self, query: &ReportQuery) -> Result<ReportInput> {
        let ReportQuery {
            period,
            baseline,
            months,
            site,
            grid_m: _,
        } = *query;
        let all_sites = self.sites()?;
        let mut from = period.from;
        let mut to = period.to;
        if let Some(b) = baseline {
            from = from.min(b.from);
            to = to.max(b.to);
        }
        // The trend's months are whole calendar months, whatever the period's ends.
        let trend = months.map_or_else(Vec::new, |n| months_ending(period.to, n));
        if let (Some(first), Some(last)) = (trend.first(), trend.last()) {
            from = from.min(first.from);
            to = to.max(last.to);
        }
        let days = self.leg_days(from, to, site)?;
        let observations = self.observation_facts(from, to, site)?;
        let coverage = self.report_coverage(query)?;
        let sites: BTreeMap<SiteId, SiteInfo> = all_sites
            .into_iter()
            .filter(|s| site.is_none_or(|id| id == s.id))
            .map(|s| {
                (
                    s.id,
                    SiteInfo {
                        name: s.name,
                        timezone: s.timezone,
                    },
                )
            })
            .collect();
        let facts = self.quality_facts(Some((period.from, period.to)), site)?;
        let model = self.data_model()?;
        let in_period: std::collections::BTreeSet<_> = facts.iter().map(|f| f.patrol).collect();
        let quality = QualityInput {
            duplicates: self
                .duplicate_tracks(site, Some((period.from, period.to)))?
                .into_iter()
                .filter(|d| in_period.contains(&d.patrol) || in_period.contains(&d.other))
                .collect(),
            facts,
            conflicts: self.unresolved_conflicts()?,
        };
        Ok(ReportInput {
            quality,
            period,
            baseline,
            months,
            sites,
            days,
            observations,
            undated_km: self.undated_km(site)?,
            category_labels: model
                .categories
                .iter()
                .map(|c| (c.key.clone(), c.label.clone()))
                .collect(),
            category_parents: model
                .categories
                .iter()
                .filter_map(|c| Some((c.key.clone(), c.parent.clone()?)))
                .collect(),
            // Items by their labels; a yes-or-no attribute's counts are
            // keyed "true" and "false" and read "yes" and "no".
            item_labels: model
                .attributes
                .iter()
                .filter_map(|a| {
                    let labels: std::collections::BTreeMap<String, String> =
                        if matches!(a.kind, patrol_core::attribute::AttributeKind::Boolean) {
                            [("true", "yes"), ("false", "no")]
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                                .collect()
                        } else {
                            a.items()
                                .into_iter()
                                .map(|i| (i.key.clone(), i.label.clone()))
                                .collect()
                        };
                    (!labels.is_empty()).then(|| (a.key.clone(), labels))
                })
                .collect(),
            attributes: model
                .attributes
                .iter()
                .map(|a| (a.key.clone(), a.clone()))
                .collect(),
            roll_up: Vec::new(),
            coverage,
        })
    }
}

/// What a report is asked for ([`Store::report_input`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReportQuery {
    /// The inclusive range of local dates the report is about.
    pub period: Period,
    /// A period to compare threats per km with.
    pub baseline: Option<Period>,
    /// A trend of this many calendar months ending with the period's last.
    pub months: Option<u32>,
    /// One site only; all sites otherwise.
    pub site: Option<SiteId>,
    /// The coverage grid's cell side, metres.
    pub grid_m: f64,
}
