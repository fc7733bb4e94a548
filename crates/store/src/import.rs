//! GPX import: one file, one patrol with one leg, in one transaction.
//!
//! The file is hashed first (blake3): a file already imported is reported as a
//! duplicate and nothing is read further. Then it streams: points are gathered
//! into pieces of at most [`PIECE_POINTS`] and written as they fill, so memory
//! stays flat whatever the file's size. Waypoints become observations.

use std::io::Read;
use std::path::{Path, PathBuf};

use patrol_core::effort::DayAccumulator;
use patrol_core::ids::PieceId;
use patrol_core::time::{MICROS, format_utc, parse_zone};
use patrol_core::{Leg, LegId, Observation, ObservationId, Patrol, PatrolId, Transport};
use patrol_gpx::{Event, Reader};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::records::{self, VersionMeta};
use crate::{Result, Store, StoreError, gpkg};

/// The most points one stored piece of a segment holds.
pub const PIECE_POINTS: usize = 4096;

/// Who walked, and how.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub team: String,
    pub transport: Transport,
    pub members: u32,
    pub member_names: Vec<String>,
    pub leader: Option<String>,
    pub objective: Option<String>,
    /// The local date of a file whose track has no time at all (a person's
    /// word; without it such a track is undated). Ignored when any point has a time.
    pub date: Option<chrono::NaiveDate>,
}

/// What became of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Imported,
    Duplicate,
    Failed,
}

/// The outcome of importing one file (also `import --json`'s objects).
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub file: String,
    pub status: Status,
    pub patrol_id: Option<String>,
    pub tracks: u64,
    pub segments: u64,
    pub track_points: u64,
    pub waypoints: u64,
    pub observations: u64,
    pub route_points_skipped: u64,
    pub length_m: f64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub warnings: Vec<String>,
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
            tracks: 0,
            segments: 0,
            track_points: 0,
            waypoints: 0,
            observations: 0,
            route_points_skipped: 0,
            length_m: 0.0,
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
    #[error("{file}: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{}", display_gpx(.source))]
    Gpx {
        file: PathBuf,
        #[source]
        source: patrol_gpx::Error,
    },
    #[error(
        "{file}: no track points and no waypoints ({route_points} route points): nothing to import"
    )]
    Empty { file: PathBuf, route_points: u64 },
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
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Earliest plausible GPS time: 1990-01-01T00:00:00Z.
const PLAUSIBLE_FROM_US: i64 = 631_152_000 * MICROS;

/// A piece of a segment being filled.
#[derive(Default)]
struct Piece {
    xy: Vec<(f64, f64)>,
    times: Vec<i64>,
    ele: Vec<f64>,
    has_ele: bool,
    length_m: f64,
}

impl Piece {
    fn clear_keeping_last(&mut self) {
        fn keep<T>(v: &mut Vec<T>) {
            let n = v.len();
            if n > 1 {
                v.drain(..n - 1);
            }
        }
        keep(&mut self.xy);
        keep(&mut self.times);
        keep(&mut self.ele);
        self.has_ele = self.ele.iter().any(|e: &f64| !e.is_nan());
        self.length_m = 0.0;
    }
}

struct Writer<'a> {
    conn: &'a Connection,
    meta: VersionMeta,
    patrol: PatrolId,
    leg: LegId,
    segment_no: i64,
    piece_no: i64,
    piece: Piece,
    bounds: [f64; 4],
}

impl Writer<'_> {
    fn flush(&mut self) -> Result<()> {
        let p = &self.piece;
        if p.xy.is_empty() {
            return Ok(());
        }
        for &(x, y) in &p.xy {
            self.bounds[0] = self.bounds[0].min(x);
            self.bounds[1] = self.bounds[1].min(y);
            self.bounds[2] = self.bounds[2].max(x);
            self.bounds[3] = self.bounds[3].max(y);
        }
        let geom = match p.xy.as_slice() {
            // A one-point segment: OGC lines need two points; the blobs keep one.
            &[only] => gpkg::line_string(&[only, only]),
            all => gpkg::line_string(all),
        };
        let times: Vec<u8> = p.times.iter().flat_map(|t| t.to_le_bytes()).collect();
        let ele: Option<Vec<u8>> = p
            .has_ele
            .then(|| p.ele.iter().flat_map(|e| e.to_le_bytes()).collect());
        let mut h = blake3::Hasher::new();
        h.update(&geom);
        h.update(&times);
        if let Some(e) = &ele {
            h.update(e);
        }
        let first = p.times.iter().copied().find(|&t| t != i64::MIN);
        let last = p.times.iter().rev().copied().find(|&t| t != i64::MIN);
        self.conn
            .prepare_cached(
                "INSERT INTO tracks(geom, piece_id, digest, patrol_id, leg_id, segment_no, piece_no, points,
                   length_m, start_time, end_time, times, ele, device_id, site_id, hlc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                geom,
                PieceId::new().to_string(),
                h.finalize().to_hex().to_string(),
                self.patrol.to_string(),
                self.leg.to_string(),
                self.segment_no,
                self.piece_no,
                p.xy.len() as i64,
                p.length_m,
                first.map(format_utc),
                last.map(format_utc),
                times,
                ele,
                self.meta.device.to_string(),
                self.meta.site.to_string(),
                self.meta.hlc,
            ])?;
        self.piece_no += 1;
        Ok(())
    }
}

impl Store {
    /// Import one GPX file as a new patrol. A failure leaves the database as it was.
    /// `progress` is called with the number of track points read so far.
    pub fn import_gpx(
        &mut self,
        path: &Path,
        opts: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport, ImportError> {
        let mut report = ImportReport::new(path);
        let digest = file_digest(path).map_err(|source| ImportError::Read {
            file: path.to_owned(),
            source,
        })?;
        let existing: Option<String> = self
            .conn
            .query_row(
                "SELECT patrol_id FROM patrol_versions WHERE source_digest = ?1 ORDER BY hlc LIMIT 1",
                [&digest],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            report.status = Status::Duplicate;
            report.patrol_id = Some(id);
            return Ok(report);
        }
        let model = self.data_model()?;
        let zone =
            parse_zone(&self.site.timezone).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let (device, site) = (self.device, self.site.id);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let meta = VersionMeta::new_local(&tx, device, site, Vec::new())?;
        let patrol = Patrol {
            id: PatrolId::new(),
            site,
            team: opts.team.clone(),
            leader: opts.leader.clone(),
            objective: opts.objective.clone(),
            origin_device: device,
            source_digest: Some(digest),
            source_file: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        };
        let leg = Leg {
            id: LegId::new(),
            patrol: patrol.id,
            transport: opts.transport,
            members: opts.members,
            member_names: opts.member_names.clone(),
        };
        records::insert_patrol(&tx, &meta, &patrol)?;
        records::insert_leg(
            &tx,
            &VersionMeta {
                version_id: patrol_core::VersionId::new(),
                ..meta.clone()
            },
            &leg,
        )?;
        report.patrol_id = Some(patrol.id.to_string());

        let gpx_err = |source| ImportError::Gpx {
            file: path.to_owned(),
            source,
        };
        let mut reader = Reader::from_path(path).map_err(gpx_err)?;
        let mut writer = Writer {
            conn: &tx,
            meta: meta.clone(),
            patrol: patrol.id,
            leg: leg.id,
            segment_no: -1,
            piece_no: 0,
            piece: Piece::default(),
            bounds: [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
        };
        let mut days = DayAccumulator::new(zone);
        let mut waypoints = Vec::new();
        let (mut first, mut last) = (None::<i64>, None::<i64>);
        let (mut implausible, mut future) = (0u64, 0u64);
        let latest_plausible = (crate::now_ms() + 86_400_000) * 1000;
        let mut in_segment_points = 0u64;
        while let Some(event) = reader.next_event().map_err(gpx_err)? {
            match event {
                Event::TrackStart => report.tracks += 1,
                Event::SegmentStart => {
                    writer.segment_no += 1;
                    writer.piece_no = 0;
                    writer.piece = Piece::default();
                    in_segment_points = 0;
                    days.start_segment();
                }
                Event::Point(p) => {
                    let len = days.push(p.lon, p.lat, p.time);
                    if let Some(t) = p.time {
                        // Earliest and latest: GPS clocks are not always monotonic.
                        first = Some(first.map_or(t, |f| f.min(t)));
                        last = Some(last.map_or(t, |l| l.max(t)));
                        if t < PLAUSIBLE_FROM_US {
                            implausible += 1;
                        } else if t > latest_plausible {
                            future += 1;
                        }
                    }
                    let piece = &mut writer.piece;
                    piece.xy.push((p.lon, p.lat));
                    piece.times.push(p.time.unwrap_or(i64::MIN));
                    piece.ele.push(p.ele.unwrap_or(f64::NAN));
                    piece.has_ele |= p.ele.is_some();
                    piece.length_m += len;
                    report.length_m += len;
                    report.track_points += 1;
                    in_segment_points += 1;
                    if piece.xy.len() == PIECE_POINTS {
                        writer.flush()?;
                        writer.piece.clear_keeping_last();
                    }
                    if report.track_points.is_multiple_of(65_536) {
                        progress(report.track_points);
                    }
                }
                Event::SegmentEnd => {
                    if in_segment_points > 0 {
                        report.segments += 1;
                        // A full piece was flushed already and kept its last point only.
                        if !(writer.piece.xy.len() == 1 && writer.piece_no > 0) {
                            writer.flush()?;
                        }
                    }
                    writer.piece = Piece::default();
                }
                Event::Waypoint(w) => waypoints.push(w),
                Event::RoutePoint => report.route_points_skipped += 1,
                Event::TrackEnd => {}
            }
        }
        progress(report.track_points);
        report
            .warnings
            .extend(reader.warnings().iter().map(ToString::to_string));

        report.waypoints = waypoints.len() as u64;
        for w in &waypoints {
            let category = model
                .classify(w.name.as_deref(), w.sym.as_deref(), w.kind.as_deref())
                .to_owned();
            let obs = Observation {
                id: ObservationId::new(),
                patrol: patrol.id,
                category,
                time: w.point.time,
                lon: w.point.lon,
                lat: w.point.lat,
                raw_name: w.name.clone(),
                note: w.desc.clone().or_else(|| w.cmt.clone()),
            };
            let vmeta = VersionMeta {
                version_id: patrol_core::VersionId::new(),
                ..meta.clone()
            };
            records::insert_observation(&tx, &vmeta, &obs)?;
            report.observations += 1;
        }

        let (by_day, undated) = days.finish_with(opts.date);
        let mut stmt = tx.prepare_cached(
            "INSERT INTO leg_days(leg_id, date, patrol_id, site_id, points, length_m, seconds, active_seconds)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let undated_row = (undated.points > 0).then_some((String::new(), undated));
        for (date, t) in by_day
            .into_iter()
            .map(|(d, t)| (d.to_string(), t))
            .chain(undated_row)
        {
            stmt.execute(params![
                leg.id.to_string(),
                date,
                patrol.id.to_string(),
                site.to_string(),
                t.points as i64,
                t.length_m,
                t.seconds,
                t.active_seconds
            ])?;
        }
        drop(stmt);
        if let Some(date) = opts
            .date
            .filter(|_| first.is_none() && report.track_points > 0)
        {
            report.warnings.push(format!(
                "no track point has a time: the track is dated {date} as given"
            ));
        }
        if undated.points > 0 {
            report.warnings.push(format!(
                "no track point has a time: {:.3} km are undated and in no period's report (give --date)",
                undated.length_m / 1000.0
            ));
        }
        if implausible > 0 {
            report.warnings.push(format!(
                "{implausible} track points are dated before 1990: is the GPS clock set?"
            ));
        }
        if future > 0 {
            report.warnings.push(format!(
                "{future} track points are dated in the future: is the GPS clock set?"
            ));
        }
        if report.track_points == 0 && report.waypoints == 0 {
            // Nothing to record: roll back rather than keep an empty patrol.
            return Err(ImportError::Empty {
                file: path.to_owned(),
                route_points: report.route_points_skipped,
            });
        }
        if report.route_points_skipped > 0 {
            report.warnings.push(format!(
                "{} route points skipped: a route is a plan, not patrol effort",
                report.route_points_skipped
            ));
        }
        let mut b = writer.bounds;
        for w in &waypoints {
            let (x, y) = (w.point.lon, w.point.lat);
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        if b[0].is_finite() {
            tx.execute(
                "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), min_y = min(coalesce(min_y, ?2), ?2),
                   max_x = max(coalesce(max_x, ?3), ?3), max_y = max(coalesce(max_y, ?4), ?4),
                   last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                 WHERE table_name IN ('tracks', 'observations')",
                params![b[0], b[1], b[2], b[3]],
            )?;
        }
        tx.commit()?;
        report.first_time = first.map(format_utc);
        report.last_time = last.map(format_utc);
        report.status = Status::Imported;
        Ok(report)
    }
}
