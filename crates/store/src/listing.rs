//! Observations and tracks read for people and other tools: `patrol
//! observations`, and `patrol export --format geojson|csv|gpx`. Every read
//! here is of live records of live patrols.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, SecondsFormat};
use chrono_tz::Tz;
use patrol_core::attribute::Values;
use patrol_core::category::DataModel;
use patrol_core::effort::dated_pairs;
use patrol_core::ids::short_id;
use patrol_core::time::{format_utc, local_date, parse_zone, to_utc};
use patrol_core::{Site, SiteId};
use rusqlite::params;
use serde::Serialize;

use crate::{Result, Store, StoreError, gpkg};

/// Which observations or tracks to read. Every filter given must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Local dates (site zone), inclusive. An observation's date is the one
    /// of its time, else its patrol's first track date (as the report counts
    /// it); a track is cut to its pairs of these dates. `None`: every date,
    /// and what has none.
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// One site; every site otherwise.
    pub site: Option<SiteId>,
    /// One patrol: its id, a prefix or its short id (resolved to a live patrol).
    pub patrol: Option<String>,
    /// Category keys, labels or aliases of the data model; each takes its
    /// sub-categories along. Empty: every category. Observations only.
    pub categories: Vec<String>,
}

/// One observation as listed (`patrol observations --json`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ObservationListing {
    /// The observation's full id.
    pub observation_id: String,
    /// The short display id (the last 8 hex digits of `observation_id`).
    pub short_id: String,
    /// Its patrol's full id.
    pub patrol_id: String,
    /// Its patrol's short id.
    pub patrol_short_id: String,
    /// Its patrol's site id.
    pub site_id: String,
    /// Its patrol's site name (`""` when the site is not in the database).
    pub site_name: String,
    /// Its patrol's team.
    pub team: String,
    /// Its category key in the data model.
    pub category: String,
    /// The category's label (the key when the data model has no such category).
    pub label: String,
    /// Whether its category is a threat.
    pub threat: bool,
    /// Its time, RFC 3339 UTC; `None` when it has none.
    pub time: Option<String>,
    /// Its time in its site's zone, RFC 3339 with the offset; `None` when it has none.
    pub local_time: Option<String>,
    /// The local date it counts on (its time's, else its patrol's first
    /// track date, YYYY-MM-DD); `None` when it has neither.
    pub date: Option<String>,
    /// Longitude, WGS84 degrees (x).
    pub lon: f64,
    /// Latitude, WGS84 degrees (y).
    pub lat: f64,
    /// The waypoint's `<name>` as in the file; `None` when it had none.
    pub raw_name: Option<String>,
    /// The note; `None` when there is none.
    pub note: Option<String>,
    /// Its attribute values as stored: a number, `true`/`false`, an item's key or a text.
    pub attributes: Values,
    /// Its time, µs UTC.
    #[serde(skip)]
    pub time_us: Option<i64>,
}

/// The track a leg's counted figures follow (kept fixes only), cut to a
/// filter's dates: lines of (lon, lat).
#[derive(Clone, Debug, PartialEq)]
pub struct CountedTrack {
    /// The patrol's id.
    pub patrol_id: String,
    /// The leg's id.
    pub leg_id: String,
    /// The patrol's site id.
    pub site_id: String,
    /// The patrol's team.
    pub team: String,
    /// The leg's transport.
    pub transport: String,
    /// Runs of consecutive kept pairs (of the filter's dates), each at least two fixes.
    pub lines: Vec<Vec<(f64, f64)>>,
}

/// A fix as recorded, with its elevation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackPoint {
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// µs UTC; `None` when the unit recorded none.
    pub time: Option<i64>,
    /// Metres; `None` when the unit recorded none.
    pub ele: Option<f64>,
}

/// A leg's track as recorded: every fix, quality control's marks or not.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedTrack {
    /// The leg's id.
    pub leg_id: String,
    /// The leg's transport.
    pub transport: String,
    /// How many people were on the leg.
    pub members: u32,
    /// Its segments, in order, joined from their pieces.
    pub segments: Vec<Vec<TrackPoint>>,
}

/// A patrol's legs as recorded (`export --format gpx`).
#[derive(Clone, Debug, PartialEq)]
pub struct PatrolTrack {
    /// The patrol's id.
    pub patrol_id: String,
    /// Its team.
    pub team: String,
    /// Its site's id.
    pub site_id: String,
    /// Its live legs, the first recorded first.
    pub legs: Vec<RecordedTrack>,
}

/// The categories `wanted` names (keys, labels or aliases), each with every
/// category below it; `None` when `wanted` is empty (every category).
pub fn category_keys(model: &DataModel, wanted: &[String]) -> Result<Option<BTreeSet<String>>> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut out = BTreeSet::new();
    for w in wanted {
        let w = w.trim();
        let Some(key) = model
            .get(w)
            .map(|c| c.key.as_str())
            .or_else(|| model.match_text(w))
        else {
            let known: Vec<&str> = model.categories.iter().map(|c| c.key.as_str()).collect();
            return Err(StoreError::Invalid(format!(
                "no category '{w}' in the data model (categories: {})",
                known.join(", ")
            )));
        };
        out.extend(model.subtree(key).into_iter().map(|c| c.key.clone()));
    }
    Ok(Some(out))
}

/// An observation row: id, patrol, site, team, category, threat, time,
/// geometry, raw name, note, attributes, its patrol's first track date.
type ObservationRow = (
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<i64>,
    Vec<u8>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn zones(sites: &[Site]) -> BTreeMap<String, Tz> {
    sites
        .iter()
        .filter_map(|s| parse_zone(&s.timezone).ok().map(|z| (s.id.to_string(), z)))
        .collect()
}

/// An instant in a zone, RFC 3339 with the zone's offset (fractions only when there are any).
pub fn local_rfc3339(micros: i64, zone: Tz) -> String {
    to_utc(micros)
        .with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Store {
    /// The live observations of live patrols that `filter` picks, by local
    /// date (undated first), time (untimed first), then id.
    pub fn observation_listing(&self, filter: &Filter) -> Result<Vec<ObservationListing>> {
        let model = self.data_model()?;
        let wanted = category_keys(&model, &filter.categories)?;
        let patrol = filter
            .patrol
            .as_deref()
            .map(|p| self.resolve_patrol(p))
            .transpose()?;
        let sites = self.sites()?;
        let zones = zones(&sites);
        let names: BTreeMap<String, &str> = sites
            .iter()
            .map(|s| (s.id.to_string(), s.name.as_str()))
            .collect();
        // Zones are at most 14 hours from UTC: a day's margin on each side
        // finds every timed observation of the dates; the exact local date
        // is checked below.
        let (lo, hi) = filter.dates.map_or((None, None), |(from, to)| {
            (
                Some(patrol_core::time::local_midnight(
                    from.pred_opt().unwrap_or(from),
                    chrono_tz::UTC,
                )),
                Some(patrol_core::time::local_midnight(
                    to.succ_opt().and_then(|d| d.succ_opt()).unwrap_or(to),
                    chrono_tz::UTC,
                )),
            )
        });
        let mut stmt = self.conn.prepare(
            "SELECT o.observation_id, o.patrol_id, o.site_id, p.team, o.category, o.threat, o.time_us,
                    o.geom, o.raw_name, o.note, o.attributes,
                    CASE WHEN o.time_us IS NULL THEN
                      (SELECT min(d.date) FROM leg_days d WHERE d.patrol_id = o.patrol_id AND d.date > '')
                    END
             FROM observations o JOIN patrols p ON p.patrol_id = o.patrol_id
             WHERE (?1 IS NULL OR o.site_id = ?1) AND (?2 IS NULL OR o.patrol_id = ?2)
               AND (?3 IS NULL OR o.time_us IS NULL OR o.time_us BETWEEN ?3 AND ?4)
             ORDER BY o.time_us, o.fid",
        )?;
        let rows = stmt.query_map(
            params![filter.site.map(|s| s.to_string()), patrol, lo, hi],
            crate::row_tuple,
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                patrol_id,
                site,
                team,
                category,
                threat,
                time,
                geom,
                raw_name,
                note,
                attrs,
                first,
            ): ObservationRow = row?;
            if wanted.as_ref().is_some_and(|w| !w.contains(&category)) {
                continue;
            }
            let zone = zones.get(&site).copied().unwrap_or(chrono_tz::UTC);
            let date = match time {
                Some(t) => Some(local_date(t, zone)),
                None => first.and_then(|d| d.parse::<NaiveDate>().ok()),
            };
            if let Some((from, to)) = filter.dates
                && !date.is_some_and(|d| (from..=to).contains(&d))
            {
                continue;
            }
            let (lon, lat) = gpkg::read_point(&geom)
                .map_err(|_| StoreError::Invalid(format!("bad geometry in observation {id}")))?;
            out.push(ObservationListing {
                short_id: short_id(&id).to_owned(),
                observation_id: id,
                patrol_short_id: short_id(&patrol_id).to_owned(),
                patrol_id,
                site_name: names.get(&site).copied().unwrap_or_default().to_owned(),
                site_id: site,
                team,
                label: model
                    .get(&category)
                    .map_or_else(|| category.clone(), |c| c.label.clone()),
                category,
                threat,
                time: time.map(format_utc),
                local_time: time.map(|t| local_rfc3339(t, zone)),
                date: date.map(|d| d.to_string()),
                lon,
                lat,
                raw_name,
                note,
                attributes: crate::records::attributes_from(attrs.as_deref())?,
                time_us: time,
            });
        }
        out.sort_by(|a, b| {
            (&a.date, a.time_us, &a.observation_id).cmp(&(&b.date, b.time_us, &b.observation_id))
        });
        Ok(out)
    }

    /// The live legs of live patrols that `filter` picks (its categories
    /// play no part), the first recorded first: each leg's kept pairs (the
    /// ones its km counts), cut to the filter's dates. A leg with nothing
    /// left is not listed.
    pub fn counted_tracks(&self, filter: &Filter) -> Result<Vec<CountedTrack>> {
        let patrol = filter
            .patrol
            .as_deref()
            .map(|p| self.resolve_patrol(p))
            .transpose()?;
        let zones = zones(&self.sites()?);
        let (from, to) = filter.dates.map_or((None, None), |(a, b)| {
            (Some(a.to_string()), Some(b.to_string()))
        });
        let legs: Vec<(String, String, String, String, String, Option<String>)> = self
            .conn
            .prepare(
                "SELECT l.leg_id, l.patrol_id, p.site_id, p.team, l.transport, coalesce(q.first_date, l.date)
                 FROM legs l JOIN patrols p ON p.patrol_id = l.patrol_id
                 LEFT JOIN leg_qc q ON q.leg_id = l.leg_id
                 WHERE (?1 IS NULL OR p.site_id = ?1) AND (?2 IS NULL OR l.patrol_id = ?2)
                   AND (?3 IS NULL OR EXISTS (SELECT 1 FROM leg_days d WHERE d.leg_id = l.leg_id
                                              AND d.date BETWEEN ?3 AND ?4))
                 ORDER BY (SELECT min(start_time) FROM tracks t WHERE t.patrol_id = l.patrol_id),
                          l.patrol_id,
                          (SELECT min(start_time) FROM tracks t WHERE t.leg_id = l.leg_id), l.leg_id",
            )?
            .query_map(
                params![filter.site.map(|s| s.to_string()), patrol, from, to],
                crate::row_tuple,
            )?
            .collect::<rusqlite::Result<_>>()?;
        let mut marks = self.conn.prepare_cached(
            "SELECT segment_no, point_no FROM fix_marks WHERE leg_id = ?1 AND excluded",
        )?;
        let mut out = Vec::new();
        for (leg_id, patrol_id, site_id, team, transport, first_date) in legs {
            let excluded: BTreeSet<(i64, i64)> = marks
                .query_map([&leg_id], crate::row_tuple)?
                .collect::<rusqlite::Result<_>>()?;
            let zone = zones.get(&site_id).copied().unwrap_or(chrono_tz::UTC);
            let first_date = first_date.as_deref().and_then(|d| d.parse().ok());
            let mut lines = Vec::new();
            for (seg_no, fixes) in crate::derive::segments(&self.conn, &leg_id)?
                .iter()
                .enumerate()
            {
                let mask: Vec<bool> = (0..fixes.len())
                    .map(|i| excluded.contains(&(seg_no as i64, i as i64)))
                    .collect();
                let mut run: Vec<(f64, f64)> = Vec::new();
                // Pairs follow each other when the second fix of one is the first of the next.
                let mut last: Option<usize> = None;
                for (a, b, date) in dated_pairs(fixes, &mask, zone, first_date) {
                    let wanted = filter
                        .dates
                        .is_none_or(|(from, to)| date.is_some_and(|d| (from..=to).contains(&d)));
                    if !wanted || last != Some(a) {
                        if run.len() > 1 {
                            lines.push(std::mem::take(&mut run));
                        }
                        run.clear();
                    }
                    if wanted {
                        if run.is_empty() {
                            run.push((fixes[a].lon, fixes[a].lat));
                        }
                        run.push((fixes[b].lon, fixes[b].lat));
                        last = Some(b);
                    } else {
                        last = None;
                    }
                }
                if run.len() > 1 {
                    lines.push(run);
                }
            }
            if !lines.is_empty() {
                out.push(CountedTrack {
                    patrol_id,
                    leg_id,
                    site_id,
                    team,
                    transport,
                    lines,
                });
            }
        }
        Ok(out)
    }

    /// A live patrol's live legs as recorded: every fix with its time and
    /// elevation, segment by segment (`text` as [`Store::resolve_patrol`] takes it).
    pub fn patrol_track(&self, text: &str) -> Result<PatrolTrack> {
        let patrol_id = self.resolve_patrol(text)?;
        let (team, site_id): (String, String) = self.conn.query_row(
            "SELECT team, site_id FROM patrols WHERE patrol_id = ?1",
            [&patrol_id],
            crate::row_tuple,
        )?;
        let legs: Vec<(String, String, u32)> = self
            .conn
            .prepare(
                "SELECT leg_id, transport, members FROM legs l WHERE patrol_id = ?1
                 ORDER BY (SELECT min(start_time) FROM tracks t WHERE t.leg_id = l.leg_id), fid",
            )?
            .query_map([&patrol_id], crate::row_tuple)?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (leg_id, transport, members) in legs {
            out.push(RecordedTrack {
                segments: self.recorded_segments(&leg_id)?,
                leg_id,
                transport,
                members,
            });
        }
        Ok(PatrolTrack {
            patrol_id,
            team,
            site_id,
            legs: out,
        })
    }

    /// A leg's segments as stored, with elevations: its pieces joined (a
    /// piece after the first of its segment repeats the joining fix).
    fn recorded_segments(&self, leg_id: &str) -> Result<Vec<Vec<TrackPoint>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT segment_no, geom, points, times, ele FROM tracks WHERE leg_id = ?1
             ORDER BY segment_no, piece_no",
        )?;
        let mut rows = stmt.query([leg_id])?;
        let mut out: Vec<Vec<TrackPoint>> = Vec::new();
        let mut current: Option<i64> = None;
        while let Some(r) = rows.next()? {
            let segment: i64 = r.get(0)?;
            let Some(geom) = r.get::<_, Option<Vec<u8>>>(1)? else {
                continue;
            };
            let points: i64 = r.get(2)?;
            let times: Vec<u8> = r.get::<_, Option<Vec<u8>>>(3)?.unwrap_or_default();
            let ele: Option<Vec<u8>> = r.get(4)?;
            let mut line = gpkg::read_line_string(&geom)
                .map_err(|e| StoreError::Invalid(format!("a track piece of leg {leg_id}: {e}")))?;
            line.truncate(usize::try_from(points.max(1)).unwrap_or(1));
            let eight = |blob: &[u8], i: usize| -> Option<[u8; 8]> {
                blob.get(i * 8..i * 8 + 8)
                    .map(|c| c.try_into().expect("8 bytes"))
            };
            let fixes = line.iter().enumerate().map(|(i, &(lon, lat))| TrackPoint {
                lon,
                lat,
                time: eight(&times, i)
                    .map(i64::from_le_bytes)
                    .filter(|&t| t != i64::MIN),
                ele: ele
                    .as_deref()
                    .and_then(|e| eight(e, i))
                    .map(f64::from_le_bytes)
                    .filter(|e| e.is_finite()),
            });
            if current == Some(segment) {
                out.last_mut().expect("a segment").extend(fixes.skip(1));
            } else {
                out.push(fixes.collect());
                current = Some(segment);
            }
        }
        Ok(out)
    }
}
