//! One file's import: the reader's events in, one patrol out. A method per
//! event; [`Importer::end`] decides at the end of the file what it became.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use patrol_core::category::DataModel;
use patrol_core::effort::{LegAnalyser, LegContext, Warning, WarningKind};
use patrol_core::qc::Fix;
use patrol_core::time::{MICROS, format_utc, parse_zone};
use patrol_core::{Leg, Patrol};
use patrol_gpx::{Point, Waypoint};
use rusqlite::Connection;

use super::extent::{Bounds, Extents};
use super::pieces::Pieces;
use super::{
    AssumeZone, ImportError, ImportOptions, ImportReport, Status, similar_tracks, waypoints,
};
use crate::derive::{self, LegKey};
use crate::records::{self, VersionMeta};
use crate::{Result, Store, StoreError};

/// What every file of one run shares: the store, the options, the site's
/// zone, rules and data model (read once, not once a file).
pub(super) struct Run<'a> {
    pub store: &'a Store,
    pub opts: &'a ImportOptions,
    zone: Tz,
    pub site_id: String,
    /// The analysis context of every leg (its site's zone and rules).
    pub ctx: LegContext,
    pub model: DataModel,
}

impl<'a> Run<'a> {
    pub fn new(store: &'a Store, opts: &'a ImportOptions) -> Result<Self> {
        let zone =
            parse_zone(&store.site.timezone).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let site_id = store.site.id.to_string();
        let ctx = derive::context(&store.conn, &site_id, opts.transport, opts.date, Vec::new())?;
        let model = crate::query::data_model(&store.conn)?;
        Ok(Run {
            store,
            opts,
            zone,
            site_id,
            ctx,
            model,
        })
    }

    /// The report of a file whose bytes are those of a patrol we hold
    /// (another import of the same file), if we do.
    pub fn duplicate(&self, file: &Path, digest: &str) -> Result<Option<ImportReport>> {
        Ok(self
            .store
            .patrol_with_source(digest)?
            .map(|held| duplicate(ImportReport::new(file), held.patrol_id, held.live)))
    }
}

/// What a file became, and (when it was imported) what it adds to the layers.
pub(super) struct Ended {
    pub report: ImportReport,
    pub extents: Extents,
}

impl From<ImportReport> for Ended {
    fn from(report: ImportReport) -> Self {
        Ended {
            report,
            extents: Extents::default(),
        }
    }
}

/// One file being imported, inside its own savepoint on `conn`.
pub(super) struct Importer<'r> {
    run: &'r Run<'r>,
    conn: &'r Connection,
    file: PathBuf,
    digest: String,
    /// The patrol a file of waypoints only joins (`--patrol`), resolved.
    target: Option<String>,
    meta: VersionMeta,
    pieces: Pieces,
    analyser: LegAnalyser,
    report: ImportReport,
    waypoints: Vec<Waypoint>,
    /// Earliest and latest time (GPS clocks are not always monotonic).
    first: Option<i64>,
    last: Option<i64>,
    zoneless: u64,
    timed: u64,
    /// The segment being read.
    fixes: Vec<Fix>,
    ele: Vec<f64>,
    has_ele: bool,
}

impl<'r> Importer<'r> {
    /// Begin a file (not a duplicate by its digest): a new patrol and leg.
    pub fn new(
        run: &'r Run<'r>,
        conn: &'r Connection,
        file: &Path,
        digest: String,
    ) -> Result<Self, ImportError> {
        let store = run.store;
        let target = run
            .opts
            .patrol
            .as_deref()
            .map(|p| store.resolve_patrol(p))
            .transpose()?;
        let meta = VersionMeta::new_local(conn, store.device, store.site.id, Vec::new())?;
        let pieces = Pieces::new(meta.clone(), crate::new_id(), crate::new_id());
        Ok(Importer {
            run,
            conn,
            file: file.to_owned(),
            digest,
            target,
            meta,
            pieces,
            analyser: LegAnalyser::new(run.ctx.clone()),
            report: ImportReport::new(file),
            waypoints: Vec::new(),
            first: None,
            last: None,
            zoneless: 0,
            timed: 0,
            fixes: Vec::new(),
            ele: Vec::new(),
            has_ele: false,
        })
    }

    /// Track points read so far.
    pub fn points(&self) -> u64 {
        self.report.track_points
    }

    /// `<trk>`.
    pub fn track(&mut self) {
        self.report.tracks += 1;
    }

    /// `<trkseg>`.
    pub fn segment(&mut self) {
        self.fixes.clear();
        self.ele.clear();
        self.has_ele = false;
    }

    /// `<trkpt>`.
    pub fn point(&mut self, p: &Point) {
        let time = p.time.map(|t| self.shift(t, p.zoneless));
        if let Some(t) = time {
            self.timed += 1;
            self.zoneless += u64::from(p.zoneless);
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        self.fixes.push(Fix::new(p.lon, p.lat, time));
        self.ele.push(p.ele.unwrap_or(f64::NAN));
        self.has_ele |= p.ele.is_some();
        self.report.track_points += 1;
    }

    /// `</trkseg>`: the segment is written and goes through quality control.
    pub fn segment_end(&mut self) -> Result<()> {
        if !self.fixes.is_empty() {
            self.report.segments += 1;
            let lens = patrol_core::qc::pair_lengths(&self.fixes);
            self.pieces
                .segment(self.conn, &self.fixes, &lens, &self.ele, self.has_ele)?;
            self.analyser.segment_with(&self.fixes, lens);
        }
        self.fixes.clear();
        self.ele.clear();
        Ok(())
    }

    /// `<wpt>`.
    pub fn waypoint(&mut self, mut w: Waypoint) {
        if let Some(t) = w.point.time {
            w.point.time = Some(self.shift(t, w.point.zoneless));
        }
        self.waypoints.push(w);
    }

    /// `<rtept>`: counted, not imported.
    pub fn route_point(&mut self) {
        self.report.route_points_skipped += 1;
    }

    /// The end of the file: what it became. Only an [`Status::Imported`]
    /// report is to be kept; anything else is rolled back.
    pub fn end(mut self, gpx_warnings: &[patrol_gpx::Warning]) -> Result<Ended, ImportError> {
        self.report.waypoints = self.waypoints.len() as u64;
        if self.report.track_points == 0 && self.report.waypoints == 0 {
            return Err(ImportError::Empty {
                file: self.file,
                route_points: self.report.route_points_skipped,
            });
        }
        let warnings = self.import_warnings(gpx_warnings);
        if self.report.track_points == 0 {
            return self.waypoints_only(warnings);
        }
        self.patrol(warnings)
    }

    /// What the file itself says that a person should know.
    fn import_warnings(&self, gpx_warnings: &[patrol_gpx::Warning]) -> Vec<Warning> {
        let mut out: Vec<Warning> = gpx_warnings
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
        if self.report.route_points_skipped > 0 {
            out.push(Warning::new(
                WarningKind::RoutePoints,
                format!(
                    "{} route points skipped: a route is a plan, not patrol effort",
                    self.report.route_points_skipped
                ),
            ));
        }
        let (zoneless, timed) = (self.zoneless, self.timed);
        if zoneless > 0 {
            let message = match self.run.opts.assume_zone {
                Some(AssumeZone::Site) => format!(
                    "{zoneless} of {timed} times have no zone: read as local time in {} (--assume-zone site)",
                    self.run.store.site.timezone
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
            out.push(Warning::new(WarningKind::NoZone, message));
        }
        out
    }

    /// A file of waypoints only: they join the patrol whose time holds them.
    fn waypoints_only(mut self, warnings: Vec<Warning>) -> Result<Ended, ImportError> {
        let (written, main, observations) = waypoints::join_patrols(
            self.conn,
            self.run,
            &self.file,
            &self.meta,
            &self.waypoints,
            self.target.as_deref(),
        )?;
        self.report.observations = written;
        self.report.patrol_id = main;
        self.report.warnings = warnings;
        self.report.status = if written == 0 {
            Status::Duplicate
        } else {
            Status::Imported
        };
        Ok(Ended {
            report: finished(self.report),
            extents: Extents {
                observations,
                ..Extents::default()
            },
        })
    }

    /// A file with a track: a new patrol, unless we hold its fixes already.
    fn patrol(self, mut warnings: Vec<Warning>) -> Result<Ended, ImportError> {
        let Importer {
            run,
            conn,
            file,
            digest,
            meta,
            pieces,
            analyser,
            mut report,
            waypoints,
            first,
            last,
            ..
        } = self;
        let effort = analyser.finish();
        // The same fixes as a patrol we hold (another file, name or program)?
        let similar = similar_tracks(conn, &effort.samples, effort.fixes)?;
        if let Some(same) = similar.iter().find(|s| s.same) {
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
            return Ok(r.into());
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
            warnings.push(w);
        }

        let opts = run.opts;
        let store = run.store;
        let patrol = Patrol {
            id: pieces.patrol,
            site: store.site.id,
            team: opts.team.clone(),
            leader: opts.leader.clone(),
            objective: opts.objective.clone(),
            origin_device: store.device,
            source_digest: Some(digest),
            source_file: file.file_name().map(|n| n.to_string_lossy().into_owned()),
        };
        let leg = Leg {
            id: pieces.leg,
            patrol: patrol.id,
            transport: opts.transport,
            members: opts.members,
            member_names: opts.member_names.clone(),
            // A person's date counts only for a track without any time.
            date: opts.date.filter(|_| first.is_none()),
            fix_overrides: Vec::new(),
        };
        records::insert_patrol(conn, &meta, &patrol)?;
        let leg_meta = VersionMeta {
            version_id: crate::new_id::<patrol_core::VersionId>(),
            ..meta.clone()
        };
        records::insert_leg(conn, &leg_meta, &leg)?;
        report.patrol_id = Some(patrol.id.to_string());
        let mut observations = Bounds::default();
        for w in &waypoints {
            waypoints::insert(conn, &run.model, &meta, patrol.id, w)?;
            observations.add(w.point.lon, w.point.lat);
            report.observations += 1;
        }
        let key = LegKey {
            leg_id: leg.id.to_string(),
            patrol_id: patrol.id.to_string(),
            site_id: run.site_id.clone(),
            version_id: leg_meta.version_id.to_string(),
        };
        derive::write(conn, &key, &effort, &warnings)?;
        report.length_m = effort.raw_length_m;
        report.counted_length_m = effort.length_m;
        report.warnings = warnings;
        report.warnings.extend(effort.warnings);
        report.first_time = first.map(format_utc);
        report.last_time = last.map(format_utc);
        report.status = Status::Imported;
        Ok(Ended {
            report: finished(report),
            extents: Extents {
                tracks: pieces.bounds,
                observations,
            },
        })
    }

    /// A time written without a zone, as the person said it was meant.
    fn shift(&self, t: i64, zoneless: bool) -> i64 {
        match self.run.opts.assume_zone {
            Some(how) if zoneless => assume(t, how, self.run.zone),
            _ => t,
        }
    }
}

/// The report with its short id filled in.
fn finished(mut report: ImportReport) -> ImportReport {
    report.short_id = report
        .patrol_id
        .as_deref()
        .map(|id| patrol_core::ids::short_id(id).to_owned());
    report
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
    finished(report)
}

/// Turn GPX times written without a zone into UTC, as a person says they were meant.
fn assume(time: i64, how: AssumeZone, site: Tz) -> i64 {
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
