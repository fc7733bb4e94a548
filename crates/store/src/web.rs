//! Reads the web app (`patrol serve`) needs and the CLI does not: one
//! patrol's track as lines for its map, the teams a site has.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::{Result, Store, gpkg};

/// One patrol's map: its track and its site's boundary, (lon, lat) WGS84.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PatrolMap {
    /// The track's segments (of its live legs), fixes quality control left
    /// out skipped, thinned evenly to at most [`PatrolMap::MAX_POINTS`]
    /// points in all (each segment keeps its first and last fix).
    pub lines: Vec<Vec<(f64, f64)>>,
    /// The polygons of the site's boundary in force (none without one).
    pub boundary: Vec<gpkg::Rings>,
}

impl PatrolMap {
    /// The most points a patrol's map draws (a page stays small).
    pub const MAX_POINTS: usize = 4000;
}

impl Store {
    /// The map of a patrol (its full id, as [`Store::resolve_patrol`] gives it).
    pub fn patrol_map(&self, patrol_id: &str) -> Result<PatrolMap> {
        self.reading(|| {
            let mut excluded: BTreeMap<String, BTreeSet<(i64, i64)>> = BTreeMap::new();
            {
                let mut marks = self.conn.prepare_cached(
                    "SELECT m.leg_id, m.segment_no, m.point_no FROM fix_marks m
                     JOIN legs l ON l.leg_id = m.leg_id
                     WHERE m.excluded AND l.patrol_id = ?1",
                )?;
                let mut rows = marks.query([patrol_id])?;
                while let Some(r) = rows.next()? {
                    excluded
                        .entry(r.get(0)?)
                        .or_default()
                        .insert((r.get(1)?, r.get(2)?));
                }
            }
            let none = BTreeSet::new();
            let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
            crate::derive::each_legs_segments(
                &self.conn,
                "SELECT t.leg_id, t.segment_no, t.geom, t.points, t.times FROM tracks t
                 JOIN legs l ON l.leg_id = t.leg_id
                 WHERE l.patrol_id = ?1 ORDER BY t.leg_id, t.segment_no, t.piece_no",
                [patrol_id],
                |leg, segments| {
                    let excluded = excluded.get(leg).unwrap_or(&none);
                    for (seg_no, fixes) in segments.iter().enumerate() {
                        let line: Vec<(f64, f64)> = fixes
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !excluded.contains(&(seg_no as i64, *i as i64)))
                            .map(|(_, f)| (f.lon, f.lat))
                            .collect();
                        if !line.is_empty() {
                            lines.push(line);
                        }
                    }
                    Ok(())
                },
            )?;
            let site: Option<String> = self
                .conn
                .query_row(
                    "SELECT site_id FROM patrols WHERE patrol_id = ?1",
                    [patrol_id],
                    |r| r.get(0),
                )
                .ok();
            let boundary = match site.and_then(|s| s.parse().ok()) {
                Some(site) => self.boundary(site)?.unwrap_or_default(),
                None => Vec::new(),
            };
            Ok(PatrolMap {
                lines: thin(lines, PatrolMap::MAX_POINTS),
                boundary,
            })
        })
    }

    /// The latest local date with effort of a live patrol (YYYY-MM-DD),
    /// from the date index; `None` in a database without dated effort.
    pub fn latest_date(&self) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        let date: Option<String> = self
            .conn
            .query_row(
                "SELECT d.date FROM leg_days d WHERE d.date <> ''
                 AND EXISTS (SELECT 1 FROM patrols p WHERE p.patrol_id = d.patrol_id)
                 ORDER BY d.date DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(date)
    }

    /// The people named on the live patrols' legs, by name (for the import
    /// form's choice of who was on a patrol), at most `max`: those on the
    /// most legs.
    pub fn member_names(&self, max: usize) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT j.value FROM legs l, json_each(l.member_names) j
             WHERE j.type = 'text' AND trim(j.value) <> ''
               AND EXISTS (SELECT 1 FROM patrols p WHERE p.patrol_id = l.patrol_id)
             GROUP BY j.value ORDER BY count(*) DESC, j.value LIMIT ?1",
        )?;
        let mut names = stmt
            .query_map([i64::try_from(max).unwrap_or(i64::MAX)], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        names.sort_by_key(|n| n.to_lowercase());
        Ok(names)
    }

    /// The teams of the live patrols, by name (for the import form's list).
    pub fn teams(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT team FROM patrols WHERE team <> '' ORDER BY team COLLATE NOCASE",
        )?;
        let teams = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(teams)
    }
}

/// Every `k`-th point of each line (and its last), `k` the smallest that
/// keeps the total at most `max` (or about it: two a line at least).
fn thin(lines: Vec<Vec<(f64, f64)>>, max: usize) -> Vec<Vec<(f64, f64)>> {
    let total: usize = lines.iter().map(Vec::len).sum();
    if total <= max {
        return lines;
    }
    let k = total.div_ceil(max.max(1));
    lines
        .into_iter()
        .map(|line| {
            let last = line.len() - 1;
            line.into_iter()
                .enumerate()
                .filter(|(i, _)| i % k == 0 || *i == last)
                .map(|(_, p)| p)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::thin;

    #[test]
    fn thinning_keeps_ends_and_the_limit() {
        let line: Vec<(f64, f64)> = (0..10_001).map(|i| (f64::from(i), 0.0)).collect();
        let out = thin(vec![line, vec![(1.0, 1.0)]], 1000);
        let total: usize = out.iter().map(Vec::len).sum();
        assert!(total <= 1002, "{total}");
        assert_eq!(out[0].first(), Some(&(0.0, 0.0)));
        assert_eq!(out[0].last(), Some(&(10_000.0, 0.0)));
        assert_eq!(out[1], vec![(1.0, 1.0)]);
    }
}
