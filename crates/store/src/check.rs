//! `patrol check`: is the file sound, a valid GeoPackage, and are the derived
//! tables consistent with what they derive from?

use rusqlite::Connection;
use serde::Serialize;

use patrol_core::effort::WarningKind;
use patrol_core::qc::Mark;

use crate::{APPLICATION_ID, GPKG_USER_VERSION, Result, Store};

/// How much a `patrol check` finding matters (JSON, lower case: `ok`, `note`, `problem`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The check passed.
    Ok,
    /// Worth knowing; not wrong.
    Note,
    /// Something is wrong: a damaged file, derived tables out of step, a track held twice, a patrol to look at.
    Problem,
}

/// One line of `patrol check`: what was checked, how it came out, and the detail.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The check's name (e.g. "sqlite integrity", "quality: stale_fix").
    pub check: String,
    /// How it came out.
    pub severity: Severity,
    /// What was found, for a person, and what to do about it where there is something to do.
    pub detail: String,
}

impl Finding {
    /// The patrols the finding names, their whole ids in the order named
    /// (each once): the detail names a patrol as `patrol ID`, ID whole
    /// (what the web app links to the patrol's page).
    pub fn patrols(&self) -> Vec<&str> {
        const NAMED: &str = "patrol ";
        let mut out: Vec<&str> = Vec::new();
        for (at, _) in self.detail.match_indices(NAMED) {
            let start = at + NAMED.len();
            let Some(id) = self.detail.get(start..start + 36) else {
                continue;
            };
            if uuid::Uuid::parse_str(id).is_ok() && !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }
}

fn count(conn: &Connection, sql: &str) -> Result<i64> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

/// What a check counts: rows, or km of track.
#[derive(Clone, Copy, Debug)]
enum Amount {
    Rows(i64),
    Km(f64),
}

impl Amount {
    fn is_none(self) -> bool {
        match self {
            Amount::Rows(n) => n == 0,
            Amount::Km(km) => km == 0.0,
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Rows(n) => write!(f, "{n}"),
            Amount::Km(km) => write!(f, "{km:.3}"),
        }
    }
}

fn rows(conn: &Connection, sql: &str) -> Result<Amount> {
    count(conn, sql).map(Amount::Rows)
}

/// A check that counts what should not be there: none is ok, any is `bad`.
struct Check {
    name: &'static str,
    bad: Severity,
    amount: fn(&Connection) -> Result<Amount>,
    /// The detail, with `{n}` for the amount.
    detail: &'static str,
}

/// The counting checks, in the order `patrol check` lists them.
const CHECKS: &[Check] = &[
    Check {
        name: "foreign keys",
        bad: Severity::Problem,
        amount: |c| rows(c, "SELECT count(*) FROM pragma_foreign_key_check"),
        detail: "{n} violations",
    },
    Check {
        name: "patrols have legs",
        bad: Severity::Note,
        amount: |c| {
            rows(
                c,
                "SELECT count(*) FROM patrols p WHERE NOT EXISTS (SELECT 1 FROM legs l WHERE l.patrol_id = p.patrol_id)",
            )
        },
        detail: "{n} patrols without a live leg",
    },
    Check {
        name: "tracks belong to legs",
        bad: Severity::Problem,
        amount: |c| {
            rows(
                c,
                "SELECT count(*) FROM tracks t WHERE NOT EXISTS (SELECT 1 FROM leg_versions l WHERE l.leg_id = t.leg_id)",
            )
        },
        detail: "{n} track pieces without a leg",
    },
    // leg_days and leg_qc are derived from tracks: the recorded km must
    // agree leg by leg, and the daily km add up to what counts.
    Check {
        name: "effort summaries match tracks",
        bad: Severity::Problem,
        amount: |c| {
            rows(
                c,
                "SELECT count(*) FROM (
                   SELECT t.leg_id, sum(t.length_m) AS m FROM tracks t GROUP BY t.leg_id) a
                 LEFT JOIN leg_qc q USING (leg_id)
                 LEFT JOIN (SELECT leg_id, sum(length_m) AS m FROM leg_days GROUP BY leg_id) b USING (leg_id)
                 WHERE abs(a.m - coalesce(q.raw_length_m, 0)) > 1e-6 * max(1, a.m)
                    OR abs(coalesce(q.length_m, 0) - coalesce(b.m, 0)) > 1e-6 * max(1, a.m)",
            )
        },
        detail: "{n} legs whose daily km differ from their track",
    },
    Check {
        name: "observation categories",
        bad: Severity::Problem,
        amount: |c| {
            rows(
                c,
                "SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.key = o.category)",
            )
        },
        detail: "{n} observations with a category not in the data model",
    },
    Check {
        name: "conflicting edits",
        bad: Severity::Note,
        amount: |c| {
            rows(
                c,
                "SELECT (SELECT count(*) FROM patrols WHERE heads > 1) + (SELECT count(*) FROM legs WHERE heads > 1) + (SELECT count(*) FROM observations WHERE heads > 1)",
            )
        },
        detail: "{n} records edited on two devices (see `patrol conflicts`)",
    },
    Check {
        name: "quarantined rows",
        bad: Severity::Note,
        amount: |c| crate::quarantine::waiting(c).map(Amount::Rows),
        detail: "{n} rows set aside by merges wait for a person (see `patrol quarantine`)",
    },
    Check {
        name: "undated track",
        bad: Severity::Note,
        amount: |c| {
            Ok(Amount::Km(c.query_row(
                "SELECT coalesce(sum(length_m), 0) / 1000 FROM leg_days WHERE date = ''",
                [],
                |r| r.get(0),
            )?))
        },
        detail: "{n} km of track have no time and are in no period's report",
    },
    Check {
        name: "one patrol per GPX file",
        bad: Severity::Problem,
        amount: |c| {
            rows(
                c,
                "SELECT count(*) FROM (SELECT source_digest FROM patrols WHERE source_digest IS NOT NULL
                   GROUP BY source_digest HAVING count(*) > 1)",
            )
        },
        detail: "{n} GPX files imported as more than one patrol (on different devices?)",
    },
];

/// A finding: ok when `clean`, `bad` otherwise.
fn finding(check: &str, clean: bool, bad: Severity, detail: String) -> Finding {
    Finding {
        check: check.to_owned(),
        severity: if clean { Severity::Ok } else { bad },
        detail,
    }
}

impl Store {
    /// Every finding of `patrol check`: SQLite integrity, the GeoPackage header and layers, derived tables against their sources, conflicting edits, duplicate tracks, quality warnings.
    pub fn check(&self) -> Result<Vec<Finding>> {
        let c = &self.conn;
        let mut out = Vec::new();
        let integrity: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        out.push(finding(
            "sqlite integrity",
            integrity == "ok",
            Severity::Problem,
            integrity,
        ));
        let app: i32 = c.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let user: i32 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let layers = count(
            c,
            "SELECT count(*) FROM gpkg_geometry_columns g JOIN gpkg_contents USING (table_name)
             JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id",
        )?;
        let srs = count(
            c,
            "SELECT count(*) FROM gpkg_spatial_ref_sys WHERE srs_id IN (-1, 0, 4326)",
        )?;
        out.push(finding(
            "geopackage",
            app == APPLICATION_ID && user == GPKG_USER_VERSION && layers == 3 && srs == 3,
            Severity::Problem,
            format!(
                "application_id {app:#x}, user_version {user}, {layers} feature layers, {srs}/3 required srs rows"
            ),
        ));
        for check in CHECKS {
            let amount = (check.amount)(c)?;
            out.push(finding(
                check.name,
                amount.is_none(),
                check.bad,
                check.detail.replace("{n}", &amount.to_string()),
            ));
        }
        out.extend(self.quality_findings()?);
        Ok(out)
    }

    /// What quality control found, one finding per patrol and kind, each with
    /// the command that acts on it; and tracks held twice.
    fn quality_findings(&self) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        let dups = self.duplicate_tracks(None, None)?;
        out.push(finding(
            "duplicate tracks",
            dups.is_empty(),
            Severity::Problem,
            format!("{} pairs of patrols hold the same track", dups.len()),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_names_its_patrols_by_whole_id() {
        let a = "01a25326-7cd5-7308-b088-000000000001";
        let b = "01a25326-7cd5-7308-b088-000000000002";
        let f = Finding {
            check: "duplicate tracks".into(),
            severity: Severity::Problem,
            detail: format!(
                "patrol {a} (x.gpx) and patrol {b} (-) share 3 of 4 sampled fixes: delete one with `patrol delete patrol 00000001` or `patrol delete patrol {a}`"
            ),
        };
        assert_eq!(f.patrols(), [a, b]);
        let none = Finding {
            check: "patrols have legs".into(),
            severity: Severity::Ok,
            detail: "0 patrols without a live leg; patrol ".into(),
        };
        assert!(none.patrols().is_empty());
    }
}
