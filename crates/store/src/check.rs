//! `patrol check`: is the file sound, a valid GeoPackage, and are the derived
//! tables consistent with what they derive from?

use rusqlite::Connection;
use serde::Serialize;

use patrol_core::effort::WarningKind;
use patrol_core::qc::Mark;

use crate::{APPLICATION_ID, GPKG_USER_VERSION, Result, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    /// Worth knowing; not wrong.
    Note,
    Problem,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub check: String,
    pub severity: Severity,
    pub detail: String,
}

fn count(conn: &Connection, sql: &str) -> Result<i64> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

impl Store {
    pub fn check(&self) -> Result<Vec<Finding>> {
        let c = &self.conn;
        let mut out = Vec::new();
        let mut add = |check: &str, severity, detail: String| {
            out.push(Finding {
                check: check.to_owned(),
                severity,
                detail,
            });
        };
        let integrity: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        add(
            "sqlite integrity",
            if integrity == "ok" {
                Severity::Ok
            } else {
                Severity::Problem
            },
            integrity,
        );
        let app: i32 = c.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let user: i32 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let gpkg_ok = app == APPLICATION_ID && user == GPKG_USER_VERSION;
        let layers = count(
            c,
            "SELECT count(*) FROM gpkg_geometry_columns g JOIN gpkg_contents USING (table_name)
             JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id",
        )?;
        let srs = count(
            c,
            "SELECT count(*) FROM gpkg_spatial_ref_sys WHERE srs_id IN (-1, 0, 4326)",
        )?;
        add(
            "geopackage",
            if gpkg_ok && layers == 3 && srs == 3 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!(
                "application_id {app:#x}, user_version {user}, {layers} feature layers, {srs}/3 required srs rows"
            ),
        );
        let fk: i64 = count(c, "SELECT count(*) FROM pragma_foreign_key_check")?;
        add(
            "foreign keys",
            if fk == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{fk} violations"),
        );
        let legless = count(
            c,
            "SELECT count(*) FROM patrols p WHERE NOT EXISTS (SELECT 1 FROM legs l WHERE l.patrol_id = p.patrol_id)",
        )?;
        add(
            "patrols have legs",
            if legless == 0 {
                Severity::Ok
            } else {
                Severity::Note
            },
            format!("{legless} patrols without a live leg"),
        );
        let orphans = count(
            c,
            "SELECT count(*) FROM tracks t WHERE NOT EXISTS (SELECT 1 FROM leg_versions l WHERE l.leg_id = t.leg_id)",
        )?;
        add(
            "tracks belong to legs",
            if orphans == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{orphans} track pieces without a leg"),
        );
        // leg_days and leg_qc are derived from tracks: the recorded km must
        // agree leg by leg, and the daily km add up to what counts.
        let drift = count(
            c,
            "SELECT count(*) FROM (
               SELECT t.leg_id, sum(t.length_m) AS m FROM tracks t GROUP BY t.leg_id) a
             LEFT JOIN leg_qc q USING (leg_id)
             LEFT JOIN (SELECT leg_id, sum(length_m) AS m FROM leg_days GROUP BY leg_id) b USING (leg_id)
             WHERE abs(a.m - coalesce(q.raw_length_m, 0)) > 1e-6 * max(1, a.m)
                OR abs(coalesce(q.length_m, 0) - coalesce(b.m, 0)) > 1e-6 * max(1, a.m)",
        )?;
        add(
            "effort summaries match tracks",
            if drift == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{drift} legs whose daily km differ from their track"),
        );
        let unknown = count(
            c,
            "SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.key = o.category)",
        )?;
        add(
            "observation categories",
            if unknown == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{unknown} observations with a category not in the data model"),
        );
        let conflicts = count(
            c,
            "SELECT (SELECT count(*) FROM patrols WHERE heads > 1) + (SELECT count(*) FROM legs WHERE heads > 1) + (SELECT count(*) FROM observations WHERE heads > 1)",
        )?;
        add(
            "conflicting edits",
            if conflicts == 0 {
                Severity::Ok
            } else {
                Severity::Note
            },
            format!("{conflicts} records edited on two devices (see `patrol conflicts`)"),
        );
        let waiting = crate::quarantine::waiting(c)?;
        add(
            "quarantined rows",
            if waiting == 0 {
                Severity::Ok
            } else {
                Severity::Note
            },
            format!(
                "{waiting} rows set aside by merges wait for a person (see `patrol quarantine`)"
            ),
        );
        let undated: f64 = c.query_row(
            "SELECT coalesce(sum(length_m), 0) / 1000 FROM leg_days WHERE date = ''",
            [],
            |r| r.get(0),
        )?;
        add(
            "undated track",
            if undated == 0.0 {
                Severity::Ok
            } else {
                Severity::Note
            },
            format!("{undated:.3} km of track have no time and are in no period's report"),
        );
        let same_file = count(
            c,
            "SELECT count(*) FROM (SELECT source_digest FROM patrols WHERE source_digest IS NOT NULL
               GROUP BY source_digest HAVING count(*) > 1)",
        )?;
        add(
            "one patrol per GPX file",
            if same_file == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!(
                "{same_file} GPX files imported as more than one patrol (on different devices?)"
            ),
        );
        out.extend(self.quality_findings()?);
        Ok(out)
    }

    /// What quality control found, one finding per patrol and kind, each with
    /// the command that acts on it; and tracks held twice.
    fn quality_findings(&self) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        let dups = self.duplicate_tracks(None, None)?;
        out.push(Finding {
            check: "duplicate tracks".into(),
            severity: if dups.is_empty() {
                Severity::Ok
            } else {
                Severity::Problem
            },
            detail: format!("{} pairs of patrols hold the same track", dups.len()),
        });
        for d in &dups {
            let name = |f: &Option<String>| f.clone().unwrap_or_else(|| "-".into());
            out.push(Finding {
                check: "duplicate tracks".into(),
                severity: Severity::Problem,
                detail: format!(
                    "patrol {} ({}) and patrol {} ({}) share {} of {} sampled fixes{}: delete one with `patrol delete patrol {}` or `patrol delete patrol {}`",
                    d.patrol,
                    name(&d.file),
                    d.other,
                    name(&d.other_file),
                    d.shared,
                    d.samples.min(d.other_samples),
                    if d.same { " (the same track)" } else { "" },
                    d.patrol.short(),
                    d.other.short()
                ),
            });
        }
        let facts = self.quality_facts(None, None)?;
        let mut excluded = 0u64;
        for f in &facts {
            let patrol = f.patrol.to_string();
            let short = patrol_core::ids::short_id(&patrol).to_owned();
            // A mark and the warning it gives share their name.
            let marked = f
                .warnings
                .iter()
                .any(|w| Mark::parse(w.kind.as_str()).is_some());
            let marks = if marked {
                self.first_marks(&patrol)?
            } else {
                std::collections::BTreeMap::new()
            };
            for w in &f.warnings {
                let (severity, action) = match w.kind {
                    WarningKind::NullIsland
                    | WarningKind::Spike
                    | WarningKind::StaleFix
                    | WarningKind::Stay
                    | WarningKind::DroppedFix => {
                        excluded += 1;
                        let mark = marks.get(w.kind.as_str()).map_or_else(
                            || "S:P".to_owned(),
                            |at| format!("{}:{}", at.segment, at.point),
                        );
                        (
                            Severity::Note,
                            format!(
                                "to count a fix again: `patrol edit patrol {short} --keep-fix {mark}`"
                            ),
                        )
                    }
                    WarningKind::TimeGap => (Severity::Note, String::new()),
                    WarningKind::ImplausibleSpeed => (
                        Severity::Problem,
                        format!(
                            "if it was driven: `patrol edit patrol {short} --transport vehicle`"
                        ),
                    ),
                    WarningKind::Undated => (
                        Severity::Note,
                        format!("date it: `patrol edit patrol {short} --date YYYY-MM-DD`"),
                    ),
                    WarningKind::DuplicateTrack
                    | WarningKind::LongPatrol
                    | WarningKind::EarlyTime
                    | WarningKind::FutureTime
                    | WarningKind::WeekRollover
                    | WarningKind::NoZone
                    | WarningKind::OutsideBoundary => (Severity::Problem, String::new()),
                    _ => continue,
                };
                let file = f.file.as_deref().unwrap_or("-");
                out.push(Finding {
                    check: format!("quality: {}", w.kind.as_str()),
                    severity,
                    detail: if action.is_empty() {
                        format!("patrol {patrol} ({file}): {}", w.message)
                    } else {
                        format!("patrol {patrol} ({file}): {}; {action}", w.message)
                    },
                });
            }
        }
        out.push(Finding {
            check: "quality control".into(),
            severity: Severity::Ok,
            detail: format!(
                "{} patrols checked; {excluded} findings left fixes out of the figures (listed as notes)",
                facts.len()
            ),
        });
        Ok(out)
    }
}
