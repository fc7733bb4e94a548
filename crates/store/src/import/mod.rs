//! GPX import: each file one patrol with one leg, all or nothing.
//!
//! The file is hashed first (blake3): a file already imported is reported as a
//! duplicate and nothing is read further. Then it streams, one segment in
//! memory at a time: each segment is written as pieces of at most
//! [`PIECE_POINTS`] and goes through quality control and the effort rules
//! ([`patrol_core::effort`]). A file whose fixes are those of a patrol we hold
//! (whatever its bytes or name) is a duplicate of it; one that shares most of
//! them is imported and flagged. Waypoints become observations; a file of
//! waypoints only joins the patrol whose time holds them.
//!
//! The work runs on two threads ([`pipeline`]): one reads and parses the
//! files, the other takes the points in batches for quality control,
//! geodesy and writing. Many files share one transaction, each inside its own
//! savepoint ([`Batching`]): a file that fails rolls back alone, and what a
//! file became is handed back only once its transaction is durable.
//!
//! - [`importer`]: one file's import, a method per reader event;
//! - [`pieces`]: a segment written as track pieces;
//! - [`extent`]: the layers' extents, widened once a batch;
//! - [`waypoints`]: waypoints as observations, and placing a file of waypoints only;
//! - [`pipeline`]: the reading thread, the batches of files and their transactions.

mod extent;
mod importer;
mod pieces;
mod pipeline;
mod recorded;
mod waypoints;

#[cfg(test)]
pub(crate) mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use patrol_core::Transport;
use patrol_core::effort::{FixSample, SAMPLE_TOLERANCE_DEG, Warning};
use rusqlite::Connection;
use serde::Serialize;

use crate::{Result, Store, StoreError};

pub use pieces::PIECE_POINTS;

/// How to read GPX times written without a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssumeZone {
    /// As UTC (what the GPX standard says).
    Utc,
    /// As local time in the site's zone (phone apps that write local time).
    Site,
    /// As local time at a fixed offset from UTC, seconds.
    Offset(i32),
}

impl std::str::FromStr for AssumeZone {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("'{s}' is not site, UTC or an offset such as +07:00");
        match s.trim() {
            x if x.eq_ignore_ascii_case("site") => Ok(AssumeZone::Site),
            x if x.eq_ignore_ascii_case("utc") || x == "Z" => Ok(AssumeZone::Utc),
            x => {
                let sign = match x.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad()),
                };
                let (h, m) = x[1..].split_once(':').unwrap_or((&x[1..], "0"));
                let (h, m): (i32, i32) =
                    (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
                if !(0..=14).contains(&h) || !(0..60).contains(&m) {
                    return Err(bad());
                }
                Ok(AssumeZone::Offset(sign * (h * 3600 + m * 60)))
            }
        }
    }
}

/// Who walked, and how.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The team that walked (the patrol's team).
    pub team: String,
    /// How the patrol travelled (its leg's transport: the speed rules).
    pub transport: Transport,
    /// How many people were on the patrol.
    pub members: u32,
    /// Their names, as given.
    pub member_names: Vec<String>,
    /// Who led it.
    pub leader: Option<String>,
    /// What it was for.
    pub objective: Option<String>,
    /// The local date of a file whose track has no time at all (a person's
    /// word; without it such a track is undated). Ignored when any point has a time.
    pub date: Option<chrono::NaiveDate>,
    /// How to read times without a zone (UTC when not given).
    pub assume_zone: Option<AssumeZone>,
    /// The patrol a file of waypoints joins (id or prefix); found by time otherwise.
    pub patrol: Option<String>,
}

/// What became of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A new patrol (or, for a file of waypoints only, new observations).
    Imported,
    /// A patrol we hold already (the same bytes or the same fixes), or
    /// waypoints its patrol has: nothing written.
    Duplicate,
    /// Not imported: `error` says why; nothing written.
    Failed,
}

/// The outcome of importing one file (also `import --json`'s objects).
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    /// The file as given.
    pub file: String,
    /// What became of it.
    pub status: Status,
    /// The new patrol, the one it duplicates, or the one its waypoints joined.
    pub patrol_id: Option<String>,
    /// The patrol's short display id (the last 8 hex digits of `patrol_id`).
    pub short_id: Option<String>,
    /// `<trk>` elements read.
    pub tracks: u64,
    /// Track segments with at least one point.
    pub segments: u64,
    /// Track points read.
    pub track_points: u64,
    /// Waypoints read.
    pub waypoints: u64,
    /// Observations written (waypoints already on the patrol are not).
    pub observations: u64,
    /// Route points counted and not imported (a route is a plan).
    pub route_points_skipped: u64,
    /// The track's length as recorded (every pair), metres.
    pub length_m: f64,
    /// The length that counts in the figures, after quality control, metres.
    pub counted_length_m: f64,
    /// The earliest time of a track point, RFC 3339 UTC.
    pub first_time: Option<String>,
    /// The latest time of a track point, RFC 3339 UTC.
    pub last_time: Option<String>,
    /// What the file and quality control found that a person should know.
    pub warnings: Vec<Warning>,
    /// Why the file failed (`FILE:LINE: what` for a broken file).
    pub error: Option<String>,
}

impl ImportReport {
    /// A file that could not be imported.
    pub fn failed(file: &Path, error: &ImportError) -> Self {
        let mut r = Self::new(file);
        r.error = Some(error.to_string());
        r
    }

    fn new(file: &Path) -> Self {
        ImportReport {
            file: file.display().to_string(),
            status: Status::Failed,
            patrol_id: None,
            short_id: None,
            tracks: 0,
            segments: 0,
            track_points: 0,
            waypoints: 0,
            observations: 0,
            route_points_skipped: 0,
            length_m: 0.0,
            counted_length_m: 0.0,
            first_time: None,
            last_time: None,
            warnings: Vec::new(),
            error: None,
        }
    }
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not GPX that can be read (with the line).
    #[error("{file}:{}", display_gpx(.source))]
    Gpx {
        /// The file.
        file: PathBuf,
        /// What the reader found, and where.
        #[source]
        source: patrol_gpx::Error,
    },
    /// Neither a track point nor a waypoint.
    #[error(
        "{file}: no track points and no waypoints ({route_points} route points): nothing to import"
    )]
    Empty {
        /// The file.
        file: PathBuf,
        /// Route points it holds (not imported).
        route_points: u64,
    },
    /// A file of waypoints only, some of which no patrol's time holds.
    #[error(
        "{file}: waypoints only, and no patrol of this site fits {unplaced} of its {total} waypoints ({why}): nothing imported; give the patrol with --patrol ID"
    )]
    NoPatrolFits {
        /// The file.
        file: PathBuf,
        /// Waypoints no patrol fits.
        unplaced: u64,
        /// Waypoints in the file.
        total: u64,
        /// Their dates, or that they have none.
        why: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn display_gpx(e: &patrol_gpx::Error) -> String {
    // The reader says "line N: what"; as FILE:N: what.
    let text = e.to_string();
    match text.strip_prefix("line ") {
        Some(rest) => rest.to_owned(),
        None => format!(" {text}"),
    }
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(e.into())
    }
}

/// blake3 of a file's bytes, hex.
pub fn file_digest(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// A patrol whose track shares fixes with a new one.
#[derive(Clone, Debug, PartialEq)]
pub struct SimilarTrack {
    /// The other patrol.
    pub patrol_id: String,
    /// It is not deleted.
    pub live: bool,
    /// Samples the two share.
    pub shared: u64,
    /// Samples of the new track.
    pub of_new: u64,
    /// Samples of the other's.
    pub of_other: u64,
    /// Every fix the same, none more or fewer.
    pub same: bool,
}

/// Patrols whose tracks share at least half of the new track's (or their own)
/// sampled fixes: same second, same place within about a metre.
pub fn similar_tracks(
    conn: &Connection,
    samples: &[FixSample],
    fixes: u64,
) -> Result<Vec<SimilarTrack>> {
    let mut shared: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut stmt =
        conn.prepare_cached("SELECT leg_id, lon, lat FROM fix_samples WHERE t_s = ?1")?;
    for s in samples {
        let mut rows = stmt.query([s.t_s])?;
        let mut seen_here = std::collections::BTreeSet::new();
        while let Some(r) = rows.next()? {
            let (leg, lon, lat): (String, f64, f64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if (lon - s.lon).abs() <= SAMPLE_TOLERANCE_DEG
                && (lat - s.lat).abs() <= SAMPLE_TOLERANCE_DEG
                && seen_here.insert(leg.clone())
            {
                *shared.entry(leg).or_default() += 1;
            }
        }
    }
    let mut out = Vec::new();
    let n_new = samples.len() as u64;
    for (leg, n) in shared {
        let (patrol_id, other_fixes, of_other, live): (String, i64, i64, bool) = conn.query_row(
            "SELECT q.patrol_id, q.fixes, (SELECT count(*) FROM fix_samples s WHERE s.leg_id = q.leg_id),
               EXISTS (SELECT 1 FROM patrols p WHERE p.patrol_id = q.patrol_id)
             FROM leg_qc q WHERE q.leg_id = ?1",
            [&leg],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let of_other = of_other as u64;
        if n < 3 || 2 * n < n_new.min(of_other) {
            continue;
        }
        out.push(SimilarTrack {
            patrol_id,
            live,
            shared: n,
            of_new: n_new,
            of_other,
            same: n == n_new && n == of_other && other_fixes as u64 == fixes,
        });
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.shared));
    Ok(out)
}

/// How many files one transaction holds: it is committed after `files`
/// files or once it has been open `time`, whichever comes first, so that
/// many files share one durable commit and progress still flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// Files a transaction holds at most.
    pub files: usize,
    /// How long a transaction stays open to more files.
    pub time: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            files: 500,
            time: Duration::from_secs(1),
        }
    }
}

impl Batching {
    /// One file per transaction (how [`Store::import_gpx`] imports).
    pub const ONE: Batching = Batching {
        files: 1,
        time: Duration::ZERO,
    };
}

impl Store {
    /// Import one GPX file as a new patrol, in a transaction of its own. A
    /// failure leaves the database as it was. `progress` is called with the
    /// number of track points read so far.
    pub fn import_gpx(
        &mut self,
        path: &Path,
        opts: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport, ImportError> {
        let mut out = None;
        pipeline::run(
            self,
            std::slice::from_ref(&path.to_path_buf()),
            opts,
            Batching::ONE,
            &mut |_, points| progress(points),
            &mut |done| out = done.into_iter().next(),
        )?;
        out.expect("one file, one result")
    }

    /// Import GPX files, each a new patrol, many to a transaction
    /// ([`Batching`]), each file all or nothing (a savepoint of its own).
    /// `reading` is called with a file and the track points read of it so
    /// far; `durable` with the results of files, in order, once they are
    /// committed (a failed file is a [`Status::Failed`] report). An error is
    /// one that stops the whole run (the database cannot be written); files
    /// reported durable before it stay imported.
    pub fn import_files(
        &mut self,
        files: &[PathBuf],
        opts: &ImportOptions,
        batching: Batching,
        reading: &mut dyn FnMut(&Path, u64),
        durable: &mut dyn FnMut(Vec<ImportReport>),
    ) -> Result<()> {
        let mut i = 0;
        let run = pipeline::run(self, files, opts, batching, reading, &mut |done| {
            let reports = done
                .into_iter()
                .map(|r| {
                    let file = &files[i];
                    i += 1;
                    r.unwrap_or_else(|e| ImportReport::failed(file, &e))
                })
                .collect();
            durable(reports);
        });
        match run {
            Ok(()) => Ok(()),
            Err(ImportError::Store(e)) => Err(e),
            Err(e) => Err(StoreError::Invalid(e.to_string())),
        }
    }
}
