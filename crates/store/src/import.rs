//! GPX import: one file, one patrol with one leg, in one transaction.
//!
//! The file is hashed first (blake3): a file already imported is reported as a
//! duplicate and nothing is read further. Then it streams, one segment in
//! memory at a time: each segment is written as pieces of at most
//! [`PIECE_POINTS`] and goes through quality control and the effort rules
//! ([`patrol_core::effort`]). A file whose fixes are those of a patrol we hold
//! (whatever its bytes or name) is a duplicate of it; one that shares most of
//! them is imported and flagged. Waypoints become observations; a file of
//! waypoints only joins the patrol whose time holds them.

use std::io::Read;
use std::path::{Path, PathBuf};

use patrol_core::effort::{FixSample, LegAnalyser, SAMPLE_TOLERANCE_DEG, Warning, WarningKind};
use patrol_core::ids::PieceId;
use patrol_core::qc::Fix;
use patrol_core::time::{MICROS, format_utc, parse_zone};
use patrol_core::{Leg, LegId, Observation, ObservationId, Patrol, PatrolId, Transport};
use patrol_gpx::{Event, Reader};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::derive::{self, LegKey};
use crate::records::{self, VersionMeta};
use crate::{Result, Store, StoreError, gpkg};

/// The most points one stored piece of a segment holds.
pub const PIECE_POINTS: usize = 4096;

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
    pub team: String,
    pub transport: Transport,
    pub members: u32,
    pub member_names: Vec<String>,
    pub leader: Option<String>,
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
    /// The patrol's short display id (the last 8 hex digits of `patrol_id`).
    pub short_id: Option<String>,
    pub tracks: u64,
    pub segments: u64,
    pub track_points: u64,
    pub waypoints: u64,
    pub observations: u64,
    pub route_points_skipped: u64,
    /// The track's length as recorded (every pair), metres.
    pub length_m: f64,
    /// The length that counts in the figures, after quality control, metres.
    pub counted_length_m: f64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub warnings: Vec<Warning>,
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
    #[error(
        "{file}: waypoints only, and no patrol of this site fits {unplaced} of its {total} waypoints ({why}): nothing imported; give the patrol with --patrol ID"
    )]
    NoPatrolFits {
        file: PathBuf,
        unplaced: u64,
        total: u64,
        why: String,
    },
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

/// Writes a segment's pieces.
struct Writer<'a> {
    conn: &'a Connection,
    meta: VersionMeta,
    patrol: PatrolId,
    leg: LegId,
    segment_no: i64,
    bounds: [f64; 4],
}

impl Writer<'_> {
    /// One segment as pieces of at most [`PIECE_POINTS`], consecutive pieces
    /// sharing their joining point.
    fn segment(&mut self, fixes: &[Fix], lens: &[f64], ele: &[f64], has_ele: bool) -> Result<()> {
        self.segment_no += 1;
        let n = fixes.len();
        let mut start = 0;
        let mut piece_no = 0;
        loop {
            let end = (start + PIECE_POINTS).min(n);
            let length = lens[start..end.saturating_sub(1).max(start)].iter().sum();
            self.piece(
                piece_no,
                &fixes[start..end],
                length,
                &ele[start..end],
                has_ele,
            )?;
            piece_no += 1;
            if end == n {
                return Ok(());
            }
            start = end - 1;
        }
    }

    fn piece(
        &mut self,
        piece_no: i64,
        fixes: &[Fix],
        length: f64,
        ele: &[f64],
        has_ele: bool,
    ) -> Result<()> {
        let xy: Vec<(f64, f64)> = fixes.iter().map(|f| (f.lon, f.lat)).collect();
        for &(x, y) in &xy {
            self.bounds[0] = self.bounds[0].min(x);
            self.bounds[1] = self.bounds[1].min(y);
            self.bounds[2] = self.bounds[2].max(x);
            self.bounds[3] = self.bounds[3].max(y);
        }
        let geom = match xy.as_slice() {
            // A one-point segment: OGC lines need two points; the blobs keep one.
            &[only] => gpkg::line_string(&[only, only]),
            all => gpkg::line_string(all),
        };
        let times: Vec<u8> = fixes
            .iter()
            .flat_map(|f| f.time.unwrap_or(i64::MIN).to_le_bytes())
            .collect();
        let has_ele = has_ele && ele.iter().any(|e| !e.is_nan());
        let ele: Option<Vec<u8>> =
            has_ele.then(|| ele.iter().flat_map(|e| e.to_le_bytes()).collect());
        let mut h = blake3::Hasher::new();
        h.update(&geom);
        h.update(&times);
        if let Some(e) = &ele {
            h.update(e);
        }
        let first = fixes.iter().find_map(|f| f.time);
        let last = fixes.iter().rev().find_map(|f| f.time);
        self.conn
            .prepare_cached(
                "INSERT INTO tracks(geom, piece_id, digest, patrol_id, leg_id, segment_no, piece_no, points,
                   length_m, start_time, end_time, times, ele, device_id, site_id, hlc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                geom,
                crate::new_id::<PieceId>().to_string(),
                h.finalize().to_hex().to_string(),
                self.patrol.to_string(),
                self.leg.to_string(),
                self.segment_no,
                piece_no,
                fixes.len() as i64,
                length,
                first.map(format_utc),
                last.map(format_utc),
                times,
                ele,
                self.meta.device.to_string(),
                self.meta.site.to_string(),
                self.meta.hlc,
            ])?;
        Ok(())
    }
}

/// A patrol whose track shares fixes with a new one.
#[derive(Clone, Debug, PartialEq)]
pub struct SimilarTrack {
    pub patrol_id: String,
    pub live: bool,
    /// Samples the two share, of the new track's and of the other's.
    pub shared: u64,
    pub of_new: u64,
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

/// Turn GPX times written without a zone into UTC, as a person says they were meant.
fn assume(time: i64, how: AssumeZone, site: chrono_tz::Tz) -> i64 {
    match how {
        AssumeZone::Utc => time,
        AssumeZone::Offset(secs) => time - i64::from(secs) * MICROS,
        AssumeZone::Site => {
            use chrono::TimeZone;
            let naive = patrol_core::time::to_utc(time).naive_utc();
            site.from_local_datetime(&naive)
                .earliest()
                .or_else(|| {
                    site.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                        .earliest()
                })
                .map_or(time, |t| t.timestamp_micros())
        }
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
        let mut report = self.import_file(path, opts, progress)?;
        report.short_id = report
            .patrol_id
            .as_deref()
            .map(|id| patrol_core::ids::short_id(id).to_owned());
        Ok(report)
    }

    fn import_file(
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
        let existing: Option<(String, bool)> = self
            .conn
            .query_row(
                "SELECT v.patrol_id, EXISTS (SELECT 1 FROM patrols p WHERE p.patrol_id = v.patrol_id)
                 FROM patrol_versions v WHERE v.source_digest = ?1 ORDER BY v.hlc LIMIT 1",
                [&digest],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, live)) = existing {
            return Ok(duplicate(report, id, live));
        }
        let zone =
            parse_zone(&self.site.timezone).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let (device, site) = (self.device, self.site.id);
        let site_id = site.to_string();
        let target = opts
            .patrol
            .as_deref()
            .map(|p| self.resolve_patrol(p))
            .transpose()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let meta = VersionMeta::new_local(&tx, device, site, Vec::new())?;
        let patrol_id: PatrolId = crate::new_id();
        let leg_id: LegId = crate::new_id();
        let ctx = derive::context(&tx, &site_id, opts.transport, opts.date, Vec::new())?;
        let pause_s = ctx.rules.pause_max_s;
        let mut analyser = LegAnalyser::new(ctx);

        let gpx_err = |source| ImportError::Gpx {
            file: path.to_owned(),
            source,
        };
        let mut reader = Reader::from_path(path).map_err(gpx_err)?;
        let mut writer = Writer {
            conn: &tx,
            meta: meta.clone(),
            patrol: patrol_id,
            leg: leg_id,
            segment_no: -1,
            bounds: [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
        };
        let mut waypoints = Vec::new();
        let (mut first, mut last) = (None::<i64>, None::<i64>);
        let (mut zoneless, mut timed) = (0u64, 0u64);
        let mut fixes: Vec<Fix> = Vec::new();
        let mut ele: Vec<f64> = Vec::new();
        let mut has_ele = false;
        let shift = |t: i64, zoneless: bool| match opts.assume_zone {
            Some(how) if zoneless => assume(t, how, zone),
            _ => t,
        };
        while let Some(event) = reader.next_event().map_err(gpx_err)? {
            match event {
                Event::TrackStart => report.tracks += 1,
                Event::SegmentStart => {
                    fixes.clear();
                    ele.clear();
                    has_ele = false;
                }
                Event::Point(p) => {
                    let time = p.time.map(|t| shift(t, p.zoneless));
                    if let Some(t) = time {
                        timed += 1;
                        zoneless += u64::from(p.zoneless);
                        // Earliest and latest: GPS clocks are not always monotonic.
                        first = Some(first.map_or(t, |f| f.min(t)));
                        last = Some(last.map_or(t, |l| l.max(t)));
                    }
                    fixes.push(Fix::new(p.lon, p.lat, time));
                    ele.push(p.ele.unwrap_or(f64::NAN));
                    has_ele |= p.ele.is_some();
                    report.track_points += 1;
                    if report.track_points.is_multiple_of(65_536) {
                        progress(report.track_points);
                    }
                }
                Event::SegmentEnd => {
                    if !fixes.is_empty() {
                        report.segments += 1;
                        let lens = patrol_core::qc::pair_lengths(&fixes);
                        writer.segment(&fixes, &lens, &ele, has_ele)?;
                        analyser.segment_with(&fixes, lens);
                    }
                    fixes.clear();
                    ele.clear();
                }
                Event::Waypoint(mut w) => {
                    if let Some(t) = w.point.time {
                        w.point.time = Some(shift(t, w.point.zoneless));
                    }
                    waypoints.push(w);
                }
                Event::RoutePoint => report.route_points_skipped += 1,
                Event::TrackEnd => {}
            }
        }
        progress(report.track_points);
        report.waypoints = waypoints.len() as u64;
        if report.track_points == 0 && report.waypoints == 0 {
            return Err(ImportError::Empty {
                file: path.to_owned(),
                route_points: report.route_points_skipped,
            });
        }
        let mut import_warnings: Vec<Warning> = reader
            .warnings()
            .iter()
            .map(|w| {
                let kind = if w.text_cut {
                    WarningKind::TextCut
                } else {
                    WarningKind::Gpx
                };
                Warning::new(kind, w.to_string())
            })
            .collect();
        if report.route_points_skipped > 0 {
            import_warnings.push(Warning::new(
                WarningKind::RoutePoints,
                format!(
                    "{} route points skipped: a route is a plan, not patrol effort",
                    report.route_points_skipped
                ),
            ));
        }
        if zoneless > 0 {
            let message = match opts.assume_zone {
                Some(AssumeZone::Site) => format!(
                    "{zoneless} of {timed} times have no zone: read as local time in {} (--assume-zone site)",
                    self.site.timezone
                ),
                Some(AssumeZone::Offset(s)) => format!(
                    "{zoneless} of {timed} times have no zone: read as UTC{}{:02}:{:02} (--assume-zone)",
                    if s < 0 { '-' } else { '+' },
                    s.abs() / 3600,
                    s.abs() % 3600 / 60
                ),
                _ => format!(
                    "{zoneless} of {timed} times have no zone and are read as UTC (the GPX standard); if the app wrote local time, import again with --assume-zone site"
                ),
            };
            import_warnings.push(Warning::new(WarningKind::NoZone, message));
        }

        if report.track_points == 0 {
            // A file of waypoints only: they join the patrol whose time holds them.
            drop(writer);
            let placed = place_waypoints(&tx, &site_id, &waypoints, target.as_deref(), pause_s)
                .map_err(|e| match e {
                    Placement::Store(e) => ImportError::Store(e),
                    Placement::Unplaced { unplaced, why } => ImportError::NoPatrolFits {
                        file: path.to_owned(),
                        unplaced,
                        total: waypoints.len() as u64,
                        why,
                    },
                })?;
            let model = crate::query::data_model(&tx)?;
            let mut by_patrol = std::collections::BTreeMap::<String, u64>::new();
            for (w, patrol) in waypoints.iter().zip(&placed) {
                if already_observed(&tx, patrol, w)? {
                    continue;
                }
                let obs = observation(
                    &model,
                    patrol
                        .parse()
                        .map_err(|_| StoreError::Invalid(format!("bad patrol id {patrol}")))?,
                    w,
                );
                let vmeta = VersionMeta {
                    version_id: crate::new_id::<patrol_core::VersionId>(),
                    ..meta.clone()
                };
                records::insert_observation(&tx, &vmeta, &obs)?;
                widen(
                    &tx,
                    "observations",
                    [w.point.lon, w.point.lat, w.point.lon, w.point.lat],
                )?;
                report.observations += 1;
                *by_patrol.entry(patrol.clone()).or_default() += 1;
            }
            let main = by_patrol
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(p, _)| p.clone())
                .or_else(|| placed.first().cloned());
            report.patrol_id = main;
            report.warnings = import_warnings;
            if report.observations == 0 {
                report.status = Status::Duplicate;
                return Ok(report);
            }
            tx.commit()?;
            report.status = Status::Imported;
            return Ok(report);
        }

        let effort = analyser.finish();
        // The same fixes as a patrol we hold (another file, name or program)?
        let similar = similar_tracks(&tx, &effort.samples, effort.fixes)?;
        if let Some(same) = similar.iter().find(|s| s.same) {
            drop(writer);
            drop(tx);
            let mut r = duplicate(report, same.patrol_id.clone(), same.live);
            r.warnings.insert(
                0,
                Warning::new(
                    WarningKind::DuplicateTrack,
                    format!(
                        "the same fixes as patrol {} (another copy of its track): not imported again",
                        same.patrol_id
                    ),
                ),
            );
            return Ok(r);
        }
        for s in similar.iter().filter(|s| s.live) {
            let mut w = Warning::new(
                WarningKind::DuplicateTrack,
                format!(
                    "shares {} of {} sampled fixes with patrol {} ({} of its {}): the same track saved twice, or one holding the other (Current.gpx)? Check, and delete one with `patrol delete patrol ID`",
                    s.shared, s.of_new, s.patrol_id, s.shared, s.of_other
                ),
            );
            w.patrol_id = Some(s.patrol_id.clone());
            w.points = s.shared;
            import_warnings.push(w);
        }

        let patrol = Patrol {
            id: patrol_id,
            site,
            team: opts.team.clone(),
            leader: opts.leader.clone(),
            objective: opts.objective.clone(),
            origin_device: device,
            source_digest: Some(digest),
            source_file: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        };
        let leg = Leg {
            id: leg_id,
            patrol: patrol.id,
            transport: opts.transport,
            members: opts.members,
            member_names: opts.member_names.clone(),
            // A person's date counts only for a track without any time.
            date: opts.date.filter(|_| first.is_none()),
            fix_overrides: Vec::new(),
        };
        records::insert_patrol(&tx, &meta, &patrol)?;
        let leg_meta = VersionMeta {
            version_id: crate::new_id::<patrol_core::VersionId>(),
            ..meta.clone()
        };
        records::insert_leg(&tx, &leg_meta, &leg)?;
        report.patrol_id = Some(patrol.id.to_string());

        let model = crate::query::data_model(&tx)?;
        let mut wb = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for w in &waypoints {
            let obs = observation(&model, patrol.id, w);
            let vmeta = VersionMeta {
                version_id: crate::new_id::<patrol_core::VersionId>(),
                ..meta.clone()
            };
            records::insert_observation(&tx, &vmeta, &obs)?;
            let (x, y) = (w.point.lon, w.point.lat);
            wb = [wb[0].min(x), wb[1].min(y), wb[2].max(x), wb[3].max(y)];
            report.observations += 1;
        }
        let key = LegKey {
            leg_id: leg.id.to_string(),
            patrol_id: patrol.id.to_string(),
            site_id: site_id.clone(),
            version_id: leg_meta.version_id.to_string(),
        };
        derive::write(&tx, &key, &effort, &import_warnings)?;
        widen(&tx, "tracks", writer.bounds)?;
        widen(&tx, "observations", wb)?;
        drop(writer);
        tx.commit()?;
        report.length_m = effort.raw_length_m;
        report.counted_length_m = effort.length_m;
        report.warnings = import_warnings;
        report.warnings.extend(effort.warnings);
        report.first_time = first.map(format_utc);
        report.last_time = last.map(format_utc);
        report.status = Status::Imported;
        Ok(report)
    }
}

/// The report of a file whose patrol we hold already (deleted or not).
fn duplicate(mut report: ImportReport, patrol_id: String, live: bool) -> ImportReport {
    if !live {
        let mut w = Warning::new(
            WarningKind::DeletedPatrol,
            format!(
                "this track is patrol {patrol_id}, which was deleted; restore it with `patrol restore patrol {}`",
                patrol_core::ids::short_id(&patrol_id)
            ),
        );
        w.patrol_id = Some(patrol_id.clone());
        report.warnings.push(w);
    }
    report.status = Status::Duplicate;
    report.patrol_id = Some(patrol_id);
    report
}

fn observation(
    model: &patrol_core::category::DataModel,
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
    }
}

/// Widen a layer's extent in `gpkg_contents` to hold [min_x, min_y, max_x, max_y].
pub(crate) fn widen(conn: &Connection, table: &str, b: [f64; 4]) -> Result<()> {
    if !b.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    conn.execute(
        "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), min_y = min(coalesce(min_y, ?2), ?2),
           max_x = max(coalesce(max_x, ?3), ?3), max_y = max(coalesce(max_y, ?4), ?4),
           last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now')
         WHERE table_name = ?5",
        params![b[0], b[1], b[2], b[3], table],
    )?;
    Ok(())
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
fn place_waypoints(
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
