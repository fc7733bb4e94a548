//! A whole patrol as a file describes it (SMART's patrol XML, read by
//! `patrol-smart`) into the database: one patrol, its legs with their
//! transport and members, their tracks and effort (derived as a GPX leg's
//! are, [`crate::derive`]), and its observations, in one transaction.
//!
//! Before anything is written, every observation's category and values are
//! checked against the database's data model: categories or attributes the
//! model does not have are one error listing them all, and nothing is saved.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use patrol_core::effort::LegAnalyser;
use patrol_core::recorded::RecordedPatrol;
use patrol_core::time::format_utc;
use patrol_core::{Leg, Observation, ObservationId, Patrol, PatrolId, VersionId};

use super::extent::{Bounds, Extents};
use super::pieces::Pieces;
use super::{ImportError, ImportOptions, ImportReport, Status, similar_tracks};
use crate::derive::{self, LegKey};
use crate::records::{self, VersionMeta};
use crate::{Store, StoreError};

impl Store {
    /// Import a recorded patrol read from `source` (whose bytes hash to
    /// `digest`, [`super::file_digest`]) as a new patrol, all or nothing.
    /// The same file again, or a file whose first leg's fixes are those of
    /// a patrol we hold, is a [`Status::Duplicate`]. Team, transport and
    /// members come from the file; `opts` fill in what it does not say
    /// (the team, the objective).
    pub fn import_recorded(
        &mut self,
        patrol: &RecordedPatrol,
        source: &Path,
        digest: &str,
        opts: &ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        let mut report = ImportReport::new(source);
        if let Some(held) = self.patrol_with_source(digest)? {
            return Ok(duplicate(report, held.patrol_id));
        }
        let model = self.data_model()?;
        check_against_model(&model, patrol, source)?;
        if patrol.legs.is_empty() {
            return Err(StoreError::Invalid(format!(
                "{}: a patrol without legs: nothing to import",
                source.display()
            ))
            .into());
        }

        let tx = crate::write_tx(&self.conn)?;
        let conn: &rusqlite::Connection = &tx;
        let site_id = self.site.id.to_string();
        let meta = VersionMeta::new_local(conn, self.device, self.site.id, Vec::new())?;
        let patrol_id: PatrolId = crate::new_id();
        let leader = patrol
            .legs
            .iter()
            .find_map(|l| l.leader())
            .map(str::to_owned)
            .or_else(|| opts.leader.clone());
        let record = Patrol {
            id: patrol_id,
            site: self.site.id,
            team: patrol.team.clone().unwrap_or_else(|| opts.team.clone()),
            leader,
            objective: patrol.objective.clone().or_else(|| opts.objective.clone()),
            origin_device: self.device,
            source_digest: Some(digest.to_owned()),
            source_file: source.file_name().map(|n| n.to_string_lossy().into_owned()),
        };
        records::insert_patrol(conn, &meta, &record)?;
        report.patrol_id = Some(patrol_id.to_string());

        let mut extents = Extents::default();
        let (mut first, mut last): (Option<i64>, Option<i64>) = (None, None);
        for (i, leg) in patrol.legs.iter().enumerate() {
            let segments: Vec<&Vec<patrol_core::qc::Fix>> = leg
                .days
                .iter()
                .flat_map(|d| &d.track)
                .filter(|s| !s.is_empty())
                .collect();
            let timed = segments
                .iter()
                .flat_map(|s| s.iter())
                .any(|f| f.time.is_some());
            let date = leg.days.iter().map(|d| d.date).min().filter(|_| !timed);
            let names: Vec<String> = leg
                .members
                .iter()
                .map(|m| m.name.clone())
                .filter(|n| !n.is_empty())
                .collect();
            let members = (leg.members.len() as u32).clamp(
                patrol_core::model::MIN_MEMBERS,
                patrol_core::model::MAX_MEMBERS,
            );
            let row = Leg {
                id: crate::new_id(),
                patrol: patrol_id,
                transport: leg.transport,
                members,
                member_names: names,
                date,
                fix_overrides: Vec::new(),
            };
            let leg_meta = VersionMeta {
                version_id: crate::new_id::<VersionId>(),
                ..meta.clone()
            };
            records::insert_leg(conn, &leg_meta, &row)?;
            let ctx = derive::context(conn, &site_id, leg.transport, date, Vec::new())?;
            let mut analyser = LegAnalyser::new(ctx);
            let mut pieces = Pieces::new(meta.clone(), patrol_id, row.id);
            for seg in &segments {
                let lens = patrol_core::qc::pair_lengths(seg);
                let ele = vec![f64::NAN; seg.len()];
                pieces.segment(conn, seg, &lens, &ele, false)?;
                analyser.segment_with(seg, lens);
                report.segments += 1;
                report.track_points += seg.len() as u64;
                for t in seg.iter().filter_map(|f| f.time) {
                    first = Some(first.map_or(t, |f| f.min(t)));
                    last = Some(last.map_or(t, |l| l.max(t)));
                }
            }
            report.tracks += leg.days.iter().filter(|d| !d.track.is_empty()).count() as u64;
            let effort = analyser.finish();
            if i == 0
                && let Some(same) = similar_tracks(conn, &effort.samples, effort.fixes)?
                    .into_iter()
                    .find(|s| s.same)
            {
                // The same fixes as a patrol we hold: nothing is written.
                drop(tx);
                let mut r = duplicate(ImportReport::new(source), same.patrol_id.clone());
                r.warnings.push(patrol_core::effort::Warning::new(
                    patrol_core::effort::WarningKind::DuplicateTrack,
                    format!(
                        "the same fixes as patrol {} (another copy of its track): not imported again",
                        same.patrol_id
                    ),
                ));
                return Ok(r);
            }
            let key = LegKey {
                leg_id: row.id.to_string(),
                patrol_id: patrol_id.to_string(),
                site_id: site_id.clone(),
                version_id: leg_meta.version_id.to_string(),
            };
            derive::write(conn, &key, &effort, &[])?;
            report.length_m += effort.raw_length_m;
            report.counted_length_m += effort.length_m;
            report.warnings.extend(effort.warnings);
            extents.tracks.union(pieces.bounds);
        }

        let mut observations = Bounds::default();
        for o in patrol.observations() {
            let vmeta = VersionMeta {
                version_id: crate::new_id::<VersionId>(),
                ..meta.clone()
            };
            let row = Observation {
                id: crate::new_id::<ObservationId>(),
                patrol: patrol_id,
                category: o.category.clone(),
                time: o.time,
                lon: o.lon,
                lat: o.lat,
                raw_name: None,
                note: o.comment.clone(),
                attributes: o.attributes.clone(),
            };
            records::insert_observation(conn, &vmeta, &row)?;
            observations.add(o.lon, o.lat);
            report.waypoints += 1;
            report.observations += 1;
        }
        extents.observations = observations;
        extents.widen(conn)?;
        tx.commit()?;
        report.first_time = first.map(format_utc);
        report.last_time = last.map(format_utc);
        report.status = Status::Imported;
        Ok(finished(report))
    }
}

/// Every observation's category and values against the model: unknown
/// category or attribute keys all listed in one error, then the first value
/// the model refuses.
fn check_against_model(
    model: &patrol_core::category::DataModel,
    patrol: &RecordedPatrol,
    source: &Path,
) -> Result<(), ImportError> {
    let mut categories = BTreeSet::new();
    let mut attributes = BTreeSet::new();
    for o in patrol.observations() {
        if model.get(&o.category).is_none() {
            categories.insert(o.category.as_str());
        }
        for key in o.attributes.keys() {
            if model.attribute(key).is_none() {
                attributes.insert(key.as_str());
            }
        }
    }
    if !categories.is_empty() || !attributes.is_empty() {
        let mut msg = format!("{}: not in the data model:", source.display());
        if !categories.is_empty() {
            let list: Vec<&str> = categories.into_iter().collect();
            let _ = write!(msg, " categories {}", list.join(", "));
        }
        if !attributes.is_empty() {
            let list: Vec<&str> = attributes.into_iter().collect();
            let sep = if msg.ends_with(':') { "" } else { ";" };
            let _ = write!(msg, "{sep} attributes {}", list.join(", "));
        }
        msg.push_str(" (add them to the data model, e.g. `patrol data-model import`, and import again): nothing imported");
        return Err(StoreError::Invalid(msg).into());
    }
    for o in patrol.observations() {
        if let Err(e) = model.check_values(&o.category, &o.attributes) {
            let when = o.time.map_or_else(|| "undated".to_owned(), format_utc);
            return Err(StoreError::Invalid(format!(
                "{}: observation '{}' at {when} ({}, {}): {e}: nothing imported",
                source.display(),
                o.category,
                o.lat,
                o.lon
            ))
            .into());
        }
    }
    Ok(())
}

fn finished(mut report: ImportReport) -> ImportReport {
    report.short_id = report
        .patrol_id
        .as_deref()
        .map(|id| patrol_core::ids::short_id(id).to_owned());
    report
}

fn duplicate(mut report: ImportReport, patrol_id: String) -> ImportReport {
    report.status = Status::Duplicate;
    report.patrol_id = Some(patrol_id);
    finished(report)
}
