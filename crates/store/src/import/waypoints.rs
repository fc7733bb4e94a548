//! Waypoints: observations of the patrol a file records, or, in a file of
//! waypoints only, of the patrol whose time holds them.

use std::path::Path;

use patrol_core::category::DataModel;
use patrol_core::effort::SAMPLE_TOLERANCE_DEG;
use patrol_core::time::{MICROS, format_utc};
use patrol_core::{Observation, ObservationId, PatrolId};
use rusqlite::{Connection, OptionalExtension, params};

use super::ImportError;
use super::extent::Bounds;
use super::importer::Run;
use crate::records::{self, VersionMeta};
use crate::{Result, StoreError};

/// The observation a waypoint records, on `patrol`, categorised by the data model.
pub(super) fn observation(
    model: &DataModel,
    patrol: PatrolId,
    w: &patrol_gpx::Waypoint,
) -> Observation {
    Observation {
        id: crate::new_id::<ObservationId>(),
        patrol,
        category: model
            .classify(w.name.as_deref(), w.sym.as_deref(), w.kind.as_deref())
            .to_owned(),
        time: w.point.time,
        lon: w.point.lon,
        lat: w.point.lat,
        raw_name: w.name.clone(),
        note: w.desc.clone().or_else(|| w.cmt.clone()),
        attributes: patrol_core::attribute::Values::new(),
    }
}

/// Write a waypoint as an observation of `patrol` (a version of its own);
/// the layer's extent is widened after ([`Extents`]).
pub(super) fn insert(
    conn: &Connection,
    model: &DataModel,
    meta: &VersionMeta,
    patrol: PatrolId,
    w: &patrol_gpx::Waypoint,
) -> Result<()> {
    let vmeta = VersionMeta {
        version_id: crate::new_id::<patrol_core::VersionId>(),
        ..meta.clone()
    };
    records::insert_observation(conn, &vmeta, &observation(model, patrol, w))
}

/// A file of waypoints only: each joins the patrol whose time holds it (or
/// `target`), unless that patrol has it already. The observations written,
/// the patrol most of them joined, and where they are.
pub(super) fn join_patrols(
    conn: &Connection,
    run: &Run<'_>,
    file: &Path,
    meta: &VersionMeta,
    waypoints: &[patrol_gpx::Waypoint],
    target: Option<&str>,
) -> std::result::Result<(u64, Option<String>, Bounds), ImportError> {
    let placed = place(
        conn,
        &run.site_id,
        waypoints,
        target,
        run.ctx.rules.pause_max_s,
    )
    .map_err(|e| match e {
        Placement::Store(e) => ImportError::Store(e),
        Placement::Unplaced { unplaced, why } => ImportError::NoPatrolFits {
            file: file.to_owned(),
            unplaced,
            total: waypoints.len() as u64,
            why,
        },
    })?;
    let mut by_patrol = std::collections::BTreeMap::<String, u64>::new();
    let mut written = 0;
    let mut bounds = Bounds::default();
    for (w, patrol) in waypoints.iter().zip(&placed) {
        if already_observed(conn, patrol, w)? {
            continue;
        }
        let id = patrol
            .parse()
            .map_err(|_| StoreError::Invalid(format!("bad patrol id {patrol}")))?;
        insert(conn, &run.model, meta, id, w)?;
        bounds.add(w.point.lon, w.point.lat);
        written += 1;
        *by_patrol.entry(patrol.clone()).or_default() += 1;
    }
    let main = by_patrol
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(p, _)| p.clone())
        .or_else(|| placed.first().cloned());
    Ok((written, main, bounds))
}

enum Placement {
    Store(StoreError),
    Unplaced { unplaced: u64, why: String },
}

impl From<rusqlite::Error> for Placement {
    fn from(e: rusqlite::Error) -> Self {
        Placement::Store(e.into())
    }
}

/// The patrol each waypoint joins: the given one, else the live patrol of the
/// site whose kept fixes span its time (within the pause limit), the nearest
/// in time when several do.
fn place(
    conn: &Connection,
    site_id: &str,
    waypoints: &[patrol_gpx::Waypoint],
    target: Option<&str>,
    tolerance_s: f64,
) -> std::result::Result<Vec<String>, Placement> {
    if let Some(t) = target {
        return Ok(vec![t.to_owned(); waypoints.len()]);
    }
    let spans: Vec<(String, i64, i64)> = conn
        .prepare(
            "SELECT q.patrol_id, min(q.first_us), max(q.last_us) FROM leg_qc q
             JOIN patrols p ON p.patrol_id = q.patrol_id
             WHERE p.site_id = ?1 AND q.first_us IS NOT NULL GROUP BY q.patrol_id",
        )?
        .query_map([site_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let tol = (tolerance_s * MICROS as f64) as i64;
    let mut out = Vec::new();
    let (mut unplaced, mut untimed) = (0u64, 0u64);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for w in waypoints {
        let Some(t) = w.point.time else {
            untimed += 1;
            continue;
        };
        let best = spans
            .iter()
            .filter(|(_, a, b)| *a - tol <= t && t <= *b + tol)
            .min_by_key(|(_, a, b)| {
                let outside = (a - t).max(t - b).max(0);
                (outside, (a + b) / 2 - t)
            });
        if let Some((p, _, _)) = best {
            out.push(p.clone());
        } else {
            unplaced += 1;
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    if unplaced + untimed > 0 {
        let mut why = Vec::new();
        if unplaced > 0 {
            why.push(format!(
                "{unplaced} dated {} to {}",
                format_utc(lo),
                format_utc(hi)
            ));
        }
        if untimed > 0 {
            why.push(format!("{untimed} without a time"));
        }
        return Err(Placement::Unplaced {
            unplaced: unplaced + untimed,
            why: why.join(", "),
        });
    }
    Ok(out)
}

/// Is this waypoint on the patrol already (the same file's waypoints again)?
fn already_observed(conn: &Connection, patrol: &str, w: &patrol_gpx::Waypoint) -> Result<bool> {
    let t = w.point.time;
    let found: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM observations o WHERE o.patrol_id = ?1
               AND ((?2 IS NULL AND o.time_us IS NULL) OR o.time_us BETWEEN ?2 - 1000000 AND ?2 + 1000000)
               AND o.raw_name IS ?3
               AND EXISTS (SELECT 1 FROM observation_versions v WHERE v.version_id = o.version_id
                           AND abs(v.lon - ?4) <= ?6 AND abs(v.lat - ?5) <= ?6)
             LIMIT 1",
            params![
                patrol,
                t,
                w.name,
                w.point.lon,
                w.point.lat,
                SAMPLE_TOLERANCE_DEG
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(found.is_some())
}
