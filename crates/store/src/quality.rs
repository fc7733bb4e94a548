//! What quality control found, read back for `patrol check` and the report's
//! data-quality section: each live patrol's warnings (stored at import beside
//! its track), and pairs of live patrols that hold the same track.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use patrol_core::SiteId;
use patrol_core::effort::{SAMPLE_TOLERANCE_DEG, Warning};
use patrol_core::metrics::{DuplicateFact, QualityFact};
use rusqlite::params;

use crate::{Result, Store, StoreError};

/// The first fix each mark left out, per leg: where a person looks first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstMark {
    /// 1-based, as people count.
    pub segment: u32,
    /// Index of the fix in its segment, 1-based.
    pub point: u32,
}

impl Store {
    /// The warnings of live patrols with effort on dates in [from, to] (every
    /// live patrol when no range), per leg, with their patrol's team and file.
    pub fn quality_facts(
        &self,
        range: Option<(NaiveDate, NaiveDate)>,
        site: Option<SiteId>,
    ) -> Result<Vec<QualityFact>> {
        let (from, to) = range.map_or((None, None), |(a, b)| {
            (Some(a.to_string()), Some(b.to_string()))
        });
        // With a range, from its legs by the date index (not every leg).
        let mut stmt = self.conn.prepare_cached(if range.is_some() {
            "SELECT q.site_id, q.patrol_id, p.team, p.source_file, q.warnings, q.import_warnings,
               q.raw_length_m, q.length_m
             FROM leg_qc q JOIN legs l ON l.leg_id = q.leg_id JOIN patrols p ON p.patrol_id = q.patrol_id
             WHERE (?3 IS NULL OR q.site_id = ?3)
               AND q.leg_id IN (SELECT d.leg_id FROM leg_days d WHERE d.date BETWEEN ?1 AND ?2)
             ORDER BY q.patrol_id, q.leg_id"
        } else {
            "SELECT q.site_id, q.patrol_id, p.team, p.source_file, q.warnings, q.import_warnings,
               q.raw_length_m, q.length_m
             FROM leg_qc q JOIN legs l ON l.leg_id = q.leg_id JOIN patrols p ON p.patrol_id = q.patrol_id
             WHERE (?3 IS NULL OR q.site_id = ?3) AND ?1 IS NULL AND ?2 IS NULL
             ORDER BY q.patrol_id, q.leg_id"
        })?;
        let rows = stmt.query_map(params![from, to, site.map(|s| s.to_string())], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, f64>(6)?,
                r.get::<_, f64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (site, patrol, team, file, warnings, import_warnings, raw, counted) = row?;
            let bad = || StoreError::Invalid(format!("bad warnings of patrol {patrol}"));
            let mut all: Vec<Warning> =
                serde_json::from_str(&import_warnings).map_err(|_| bad())?;
            all.extend(serde_json::from_str::<Vec<Warning>>(&warnings).map_err(|_| bad())?);
            out.push(QualityFact {
                site: site.parse().map_err(|_| bad())?,
                patrol: patrol.parse().map_err(|_| bad())?,
                team,
                file,
                raw_km: raw / 1000.0,
                km: counted / 1000.0,
                warnings: all,
            });
        }
        Ok(out)
    }

    /// Pairs of live patrols whose tracks share at least half of the smaller
    /// one's sampled fixes (same second, same place within about a metre): the
    /// same track imported twice (another file, program or device), or one
    /// file holding the other (a unit's Current.gpx). Deleting one of the
    /// two patrols resolves it.
    /// With a range, only pairs where one of the two has effort on its dates.
    pub fn duplicate_tracks(
        &self,
        site: Option<SiteId>,
        range: Option<(NaiveDate, NaiveDate)>,
    ) -> Result<Vec<DuplicateFact>> {
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String, i64)> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        };
        let pairs: Vec<(String, String, i64)> = match range {
            None => self
                .conn
                .prepare_cached(
                    "SELECT a.leg_id, b.leg_id, count(*) FROM fix_samples a
                     JOIN fix_samples b ON b.t_s = a.t_s AND b.leg_id > a.leg_id
                     WHERE abs(a.lon - b.lon) <= ?1 AND abs(a.lat - b.lat) <= ?1
                     GROUP BY a.leg_id, b.leg_id",
                )?
                .query_map([SAMPLE_TOLERANCE_DEG], row)?
                .collect::<rusqlite::Result<_>>()?,
            Some((from, to)) => {
                let found = self.shared_samples(from, to)?;
                let mut seen = std::collections::BTreeSet::new();
                found
                    .into_iter()
                    .map(|(a, b, n)| if a < b { (a, b, n) } else { (b, a, n) })
                    .filter(|(a, b, _)| seen.insert((a.clone(), b.clone())))
                    .collect()
            }
        };
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        // Live legs of live patrols: samples, fixes, patrol, site, file.
        let mut legs: BTreeMap<String, (i64, i64, String, String, Option<String>)> =
            BTreeMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT q.leg_id, (SELECT count(*) FROM fix_samples s WHERE s.leg_id = q.leg_id), q.fixes,
               q.patrol_id, q.site_id, p.source_file
             FROM leg_qc q JOIN legs l ON l.leg_id = q.leg_id JOIN patrols p ON p.patrol_id = q.patrol_id
             WHERE q.leg_id = ?1",
        )?;
        let mut facts = Vec::new();
        for (a, b, shared) in pairs {
            for leg in [&a, &b] {
                if !legs.contains_key(leg) {
                    let row = stmt
                        .query_map([leg], |r| {
                            Ok((
                                r.get(0)?,
                                (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
                            ))
                        })?
                        .next()
                        .transpose()?;
                    if let Some((id, v)) = row {
                        legs.insert(id, v);
                    }
                }
            }
            let (Some(x), Some(y)) = (legs.get(&a), legs.get(&b)) else {
                continue;
            };
            if x.2 == y.2 || shared < 3 || 2 * shared < x.0.min(y.0) {
                continue;
            }
            if site.is_some_and(|s| s.to_string() != x.3 && s.to_string() != y.3) {
                continue;
            }
            let bad = || StoreError::Invalid("bad id in leg_qc".into());
            let (first, second) = if x.2 <= y.2 { (x, y) } else { (y, x) };
            facts.push(DuplicateFact {
                patrol: first.2.parse().map_err(|_| bad())?,
                other: second.2.parse().map_err(|_| bad())?,
                file: first.4.clone(),
                other_file: second.4.clone(),
                shared: shared as u64,
                samples: first.0 as u64,
                other_samples: second.0 as u64,
                same: shared == x.0 && shared == y.0 && x.1 == y.1,
            });
        }
        facts.sort_by_key(|f| (f.patrol, f.other));
        facts.dedup_by(|a, b| (a.patrol, a.other) == (b.patrol, b.other));
        Ok(facts)
    }

    /// (period leg, other leg, samples shared), by (period leg, other leg):
    /// the legs with effort in [from, to] against any other leg. A period
    /// that holds a fair share of the legs reads the time index once, in
    /// order; a short one looks up each of its samples' times.
    fn shared_samples(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<(String, String, i64)>> {
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String, i64)> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        };
        let (from, to) = (from.to_string(), to.to_string());
        let period: std::collections::HashSet<String> = self
            .conn
            .prepare_cached("SELECT DISTINCT leg_id FROM leg_days WHERE date BETWEEN ?1 AND ?2")?
            .query_map([&from, &to], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let legs: i64 = self
            .conn
            .query_row("SELECT count(*) FROM leg_qc", [], |r| r.get(0))?;
        if (period.len() as i64) * 4 < legs {
            // From the period's legs (by the date index) to any other leg.
            return Ok(self
                .conn
                .prepare_cached(
                    "SELECT a.leg_id, b.leg_id, count(*) FROM fix_samples a
                     JOIN fix_samples b ON b.t_s = a.t_s AND b.leg_id <> a.leg_id
                     WHERE a.leg_id IN (SELECT DISTINCT leg_id FROM leg_days WHERE date BETWEEN ?2 AND ?3)
                       AND abs(a.lon - b.lon) <= ?1 AND abs(a.lat - b.lat) <= ?1
                     GROUP BY a.leg_id, b.leg_id",
                )?
                .query_map(params![SAMPLE_TOLERANCE_DEG, from, to], row)?
                .collect::<rusqlite::Result<_>>()?);
        }
        // The same pairs from one pass over the samples in time order: each
        // second's samples against each other.
        let mut ids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut counts: BTreeMap<(usize, usize), i64> = BTreeMap::new();
        let mut group: Vec<(usize, bool, f64, f64)> = Vec::new();
        let mut group_t = None;
        let mut flush = |group: &mut Vec<(usize, bool, f64, f64)>| {
            for a in group.iter() {
                if !a.1 {
                    continue;
                }
                for b in group.iter() {
                    if b.0 != a.0
                        && (a.2 - b.2).abs() <= SAMPLE_TOLERANCE_DEG
                        && (a.3 - b.3).abs() <= SAMPLE_TOLERANCE_DEG
                    {
                        *counts.entry((a.0, b.0)).or_default() += 1;
                    }
                }
            }
            group.clear();
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT t_s, leg_id, lon, lat FROM fix_samples INDEXED BY fix_samples_time ORDER BY t_s",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let t: i64 = r.get(0)?;
            if group_t != Some(t) {
                flush(&mut group);
                group_t = Some(t);
            }
            let leg = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            let id = if let Some(&id) = ids.get(leg) {
                id
            } else {
                ids.insert(leg.to_owned(), names.len());
                names.push(leg.to_owned());
                names.len() - 1
            };
            let in_period = period.contains(leg);
            group.push((id, in_period, r.get(2)?, r.get(3)?));
        }
        flush(&mut group);
        let mut out: Vec<(String, String, i64)> = counts
            .into_iter()
            .map(|((a, b), n)| (names[a].clone(), names[b].clone(), n))
            .collect();
        // In the order of the query above: by leg ids.
        out.sort();
        Ok(out)
    }

    /// Live records edited on two devices and not yet resolved.
    pub fn unresolved_conflicts(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM patrols WHERE heads > 1) + (SELECT count(*) FROM legs WHERE heads > 1)
                  + (SELECT count(*) FROM observations WHERE heads > 1)",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// The first excluded fix of a patrol's legs for each mark (1-based).
    pub fn first_marks(&self, patrol: &str) -> Result<BTreeMap<String, FirstMark>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.mark, min(m.segment_no * 4294967296 + m.point_no) FROM fix_marks m
             JOIN legs l ON l.leg_id = m.leg_id WHERE l.patrol_id = ?1 AND m.excluded GROUP BY m.mark",
        )?;
        let rows = stmt.query_map([patrol], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (mark, at) = row?;
            out.insert(
                mark,
                FirstMark {
                    segment: (at >> 32) as u32 + 1,
                    point: (at & 0xFFFF_FFFF) as u32 + 1,
                },
            );
        }
        Ok(out)
    }
}
