//! Real field recordings, and copies of them with the faults real GPS units
//! make: the figures `patrol` reports must hold up on them (issue 7).
//!
//! The recordings are in tests/data/field/clean, the faulted copies in
//! tests/data/field/faults (written by make_faults.py; the README there says
//! where each file comes from and what each fault imitates). Every reference
//! figure is computed here, independently of patrol's import code: the file
//! is read with `patrol_gpx::Reader` and measured point to point, within each
//! segment, with geo's geodesic distance on WGS84.
//!
//! Each test loops over all the recordings and reports every failure it
//! finds, each naming the file and the figure, before it fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use geo::{Distance, Geodesic, Point};
use patrol_gpx::{Event, Reader};
use serde_json::Value;

use crate::util::{Env, data};

/// The clean recordings, by file stem.
const CLEAN: [&str; 4] = [
    "blue-hills-big-loop",
    "cerknicko-jezero",
    "garmin-connect-stroll",
    "korita-zbevnica",
];

/// Each recording's separate Garmin waypoint file, whose times fall inside its track.
const WAYPOINT_FILES: [(&str, &str); 4] = [
    ("blue-hills-big-loop", "Waypoints_24-JUN-01.gpx"),
    ("cerknicko-jezero", "Waypoints_05-AUG-10.gpx"),
    ("garmin-connect-stroll", "Waypoints_29-JUL-17.gpx"),
    ("korita-zbevnica", "Waypoints_03-OCT-10.gpx"),
];

/// `Env::init` makes a site in Asia/Bangkok: UTC+7 all year, no DST, so every date is 24 h long.
const SITE_OFFSET_S: i32 = 7 * 3600;
const DAY_HOURS: f64 = 24.0;
/// A report range holding every date of these files and of the faults added to them.
const ALL_FROM: &str = "1990-01-01";
const ALL_TO: &str = "2030-12-31";
/// How far patrol's km may be from the independent figure, and its hours above the clean file's.
const TOLERANCE: f64 = 0.01;

fn clean_file(stem: &str) -> PathBuf {
    data(&format!("field/clean/{stem}.gpx"))
}

fn fault_file(stem: &str, fault: &str) -> PathBuf {
    data(&format!("field/faults/{stem}--{fault}.gpx"))
}

fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Every failure of a test, each naming the file and the figure.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn fail(&mut self, what: String) {
        self.0.push(what);
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} failure(s):\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

// ------------------------------------------------------------------ independent reference figures

/// What a file says, measured without patrol's import code.
struct Reference {
    /// Geodesic length of every segment, point to point, summed; km.
    km: f64,
    track_points: usize,
    waypoints: usize,
    /// Site-local dates of the timed track points.
    dates: BTreeSet<NaiveDate>,
    /// Sum over segments of (last time - first time), hours: the most time a track can hold.
    segment_hours: f64,
}

fn reference(path: &Path) -> Reference {
    let zone = FixedOffset::east_opt(SITE_OFFSET_S).expect("a valid offset");
    let mut reader = Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = Reference {
        km: 0.0,
        track_points: 0,
        waypoints: 0,
        dates: BTreeSet::new(),
        segment_hours: 0.0,
    };
    let mut previous: Option<Point<f64>> = None;
    let mut span: Option<(i64, i64)> = None;
    loop {
        let event = reader
            .next_event()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(event) = event else { break };
        match event {
            Event::SegmentStart => {
                previous = None;
                span = None;
            }
            Event::SegmentEnd => {
                if let Some((first, last)) = span.take() {
                    r.segment_hours += (last - first) as f64 / 3.6e9;
                }
                previous = None;
            }
            Event::Point(p) => {
                let here = Point::new(p.lon, p.lat);
                if let Some(before) = previous {
                    r.km += Geodesic.distance(before, here) / 1000.0;
                }
                previous = Some(here);
                r.track_points += 1;
                if let Some(t) = p.time {
                    let local = DateTime::from_timestamp_micros(t)
                        .expect("a representable time")
                        .with_timezone(&zone);
                    r.dates.insert(local.date_naive());
                    span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
                }
            }
            Event::Waypoint(_) => r.waypoints += 1,
            Event::TrackStart | Event::TrackEnd | Event::RoutePoint => {}
        }
    }
    r
}

// ------------------------------------------------------------------ running the binary

/// Run the binary: stdout as JSON when it is JSON, the exit code, stderr.
fn run(env: &Env, args: &[&str]) -> (Option<Value>, i32, String) {
    let out = env.cmd().args(args).output().expect("the binary runs");
    (
        serde_json::from_slice(&out.stdout).ok(),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `import --team Alpha --transport foot --json [extra] FILE`: the file's one report.
fn import(env: &Env, file: &Path, extra: &[&str]) -> Result<Value, String> {
    let path = file.to_str().expect("a UTF-8 path");
    let mut args = vec!["import", "--team", "Alpha", "--transport", "foot", "--json"];
    args.extend_from_slice(extra);
    args.push(path);
    match run(env, &args) {
        (Some(Value::Array(mut reports)), _, _) if reports.len() == 1 => Ok(reports.remove(0)),
        (json, code, stderr) => Err(format!(
            "{}: `import {}` gave no single JSON report (exit {code}): stdout {json:?}, stderr {stderr}",
            name(file),
            extra.join(" ")
        )),
    }
}

fn patrols(env: &Env) -> Vec<Value> {
    match run(env, &["patrols", "--json"]) {
        (Some(Value::Array(list)), 0, _) => list,
        (json, code, stderr) => {
            panic!("`patrols --json` failed (exit {code}): {json:?} {stderr}")
        }
    }
}

fn show(env: &Env, id: &str) -> Result<Value, String> {
    match run(env, &["show", id, "--json"]) {
        (Some(v), 0, _) => Ok(v),
        (json, code, stderr) => Err(format!(
            "`show {id} --json` failed (exit {code}): {json:?} {stderr}"
        )),
    }
}

/// The report's `effort` over a range holding everything.
fn effort(env: &Env) -> Result<Value, String> {
    match run(
        env,
        &[
            "report", "--from", ALL_FROM, "--to", ALL_TO, "--format", "json",
        ],
    ) {
        (Some(v), 0, _) => Ok(v["effort"].clone()),
        (json, code, stderr) => Err(format!(
            "`report --from {ALL_FROM} --to {ALL_TO} --format json` failed (exit {code}): {json:?} {stderr}"
        )),
    }
}

/// What patrol says of one patrol.
struct Figures {
    km: f64,
    days_km: f64,
    hours: f64,
    /// (date, hours, active_hours) of each date with effort.
    days: Vec<(String, f64, f64)>,
    /// The report's patrol-days over a range holding everything.
    patrol_days: Option<u64>,
}

fn figures(env: &Env, id: &str) -> Result<Figures, String> {
    let s = show(env, id)?;
    let days: Vec<(String, f64, f64)> = s["days"]
        .as_array()
        .ok_or_else(|| format!("`show {id} --json` has no days array: {s}"))?
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap_or("?").to_owned(),
                d["hours"].as_f64().unwrap_or(f64::NAN),
                d["active_hours"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    let days_km = s["days"].as_array().map_or(f64::NAN, |d| {
        d.iter().filter_map(|d| d["km"].as_f64()).sum()
    });
    Ok(Figures {
        km: s["km"].as_f64().unwrap_or(f64::NAN),
        days_km,
        hours: s["hours"].as_f64().unwrap_or(f64::NAN),
        days,
        patrol_days: effort(env)?["patrol_days"].as_u64(),
    })
}

/// Import a file alone into a fresh database: its report, and its patrol's figures.
fn import_alone(file: &Path) -> Result<(Value, Figures), String> {
    let env = Env::init();
    let report = import(&env, file, &[])?;
    let Some(id) = report["patrol_id"].as_str() else {
        return Err(format!(
            "{}: the import report has no patrol_id: {report}",
            name(file)
        ));
    };
    let figures = figures(&env, id).map_err(|e| format!("{}: {e}", name(file)))?;
    Ok((report, figures))
}

fn within(ours: f64, theirs: f64, tolerance: f64) -> bool {
    (ours - theirs).abs() <= tolerance * theirs.abs()
}

// ------------------------------------------------------------------ checks shared by the fault tests

/// `warnings` is an array of `{kind, message, points, km_excluded, hours_excluded}`
/// and, when `kinds` is not empty, holds one of those kinds.
fn check_warnings(f: &mut Failures, file: &str, report: &Value, kinds: &[&str]) {
    let Some(warnings) = report["warnings"].as_array() else {
        f.fail(format!(
            "{file}: warnings is not an array: {}",
            report["warnings"]
        ));
        return;
    };
    for w in warnings {
        let shaped = w["kind"].is_string()
            && w["message"].is_string()
            && w["points"].is_u64()
            && w["km_excluded"].is_number()
            && w["hours_excluded"].is_number();
        f.check(shaped, || {
            format!(
                "{file}: a warning is not {{kind, message, points, km_excluded, hours_excluded}}: {w}"
            )
        });
    }
    if !kinds.is_empty() {
        let found = warnings
            .iter()
            .any(|w| kinds.contains(&w["kind"].as_str().unwrap_or_default()));
        f.check(found, || {
            format!(
                "{file}: no warning of kind {} among {}",
                kinds.join(" or "),
                report["warnings"]
            )
        });
    }
}

/// km within 1 % of `km`, in total and summed over days; no date longer than 24 h;
/// `days` dates with effort, in `show` and in the report; hours at most `max_hours`.
fn check_figures(
    f: &mut Failures,
    file: &str,
    got: &Figures,
    km: f64,
    days: usize,
    max_hours: f64,
) {
    f.check(within(got.km, km, TOLERANCE), || {
        format!(
            "{file}: km {:.3}, independent km {km:.3} (more than 1 % apart)",
            got.km
        )
    });
    f.check(within(got.days_km, km, TOLERANCE), || {
        format!(
            "{file}: km summed over days {:.3}, independent km {km:.3} (more than 1 % apart)",
            got.days_km
        )
    });
    for (date, hours, active) in &got.days {
        f.check(*hours <= DAY_HOURS + 1e-9, || {
            format!("{file}: {date} has {hours:.2} hours, more than the {DAY_HOURS} h of a day")
        });
        f.check(*active <= DAY_HOURS + 1e-9, || {
            format!(
                "{file}: {date} has {active:.2} active hours, more than the {DAY_HOURS} h of a day"
            )
        });
    }
    f.check(got.days.len() == days, || {
        let dates: Vec<&str> = got.days.iter().map(|d| d.0.as_str()).collect();
        format!(
            "{file}: {} dates with effort {dates:?}, expected {days}",
            got.days.len()
        )
    });
    f.check(got.patrol_days == Some(days as u64), || {
        format!(
            "{file}: report effort.patrol_days {:?}, expected {days}",
            got.patrol_days
        )
    });
    f.check(got.hours <= max_hours * (1.0 + TOLERANCE) + 1e-9, || {
        format!(
            "{file}: hours {:.3}, more than {max_hours:.3} h + 1 % (the gap or the stay counted as effort?)",
            got.hours
        )
    });
}

/// How a faulted copy is judged.
struct Fault {
    /// The file name's fault part: `<stem>--<fault>.gpx`.
    name: &'static str,
    /// The import must warn with one of these kinds (none: no warning required).
    kinds: &'static [&'static str],
    /// Judge the file by its own figures (a superset of the recording), not the clean file's.
    own_walk: bool,
    /// The faulted file's fixes fall on other dates that are real walking (a 40 h gap):
    /// expect one date with effort per local date of its fixes.
    dates_of_fixes: bool,
}

/// Import each recording's `fault` copy alone and judge it against the clean recording
/// (imported alone too) and the independent figures.
fn check_fault(f: &mut Failures, fault: &Fault) {
    for stem in CLEAN {
        let clean = clean_file(stem);
        let faulted = fault_file(stem, fault.name);
        let file = name(&faulted);
        let clean_ref = reference(&clean);
        let fault_ref = reference(&faulted);
        let (_, clean_figures) = match import_alone(&clean) {
            Ok(x) => x,
            Err(e) => {
                f.fail(format!("{file}: the clean recording: {e}"));
                continue;
            }
        };
        let (report, got) = match import_alone(&faulted) {
            Ok(x) => x,
            Err(e) => {
                f.fail(e);
                continue;
            }
        };
        f.check(report["status"] == "imported", || {
            format!(
                "{file}: status {}, expected imported: {report}",
                report["status"]
            )
        });
        check_warnings(f, &file, &report, fault.kinds);
        let (km, max_hours) = if fault.own_walk {
            (fault_ref.km, fault_ref.segment_hours)
        } else {
            (clean_ref.km, clean_figures.hours)
        };
        let days = if fault.own_walk || fault.dates_of_fixes {
            // One date with effort per local date of the fixes, as for the clean recording.
            f.check(clean_ref.dates.len() == clean_figures.days.len(), || {
                format!(
                    "{}: clean recording has fixes on {} local dates but {} dates with effort",
                    name(&clean),
                    clean_ref.dates.len(),
                    clean_figures.days.len()
                )
            });
            fault_ref.dates.len()
        } else {
            clean_figures.days.len()
        };
        check_figures(f, &file, &got, km, days, max_hours);
    }
}

// ------------------------------------------------------------------ controls: these pass today

#[test]
fn clean_recordings_import_with_their_independent_km() {
    let mut f = Failures::default();
    for stem in CLEAN {
        let path = clean_file(stem);
        let file = name(&path);
        let r = reference(&path);
        f.check(r.track_points >= 296 && r.km >= 4.0, || {
            format!(
                "{file}: a field recording should have ~300 points and a few km, has {} points and {:.3} km",
                r.track_points, r.km
            )
        });
        let (report, got) = match import_alone(&path) {
            Ok(x) => x,
            Err(e) => {
                f.fail(e);
                continue;
            }
        };
        f.check(report["status"] == "imported", || {
            format!("{file}: status {}, expected imported", report["status"])
        });
        f.check(
            report["track_points"].as_u64() == Some(r.track_points as u64),
            || {
                format!(
                    "{file}: track_points {}, the file has {}",
                    report["track_points"], r.track_points
                )
            },
        );
        f.check(within(got.km, r.km, TOLERANCE), || {
            format!("{file}: km {:.3}, independent km {:.3}", got.km, r.km)
        });
        f.check(within(got.days_km, r.km, TOLERANCE), || {
            format!(
                "{file}: km summed over days {:.3}, independent km {:.3}",
                got.days_km, r.km
            )
        });
        f.check(got.days.len() == r.dates.len(), || {
            format!(
                "{file}: {} dates with effort, its fixes fall on {} local dates {:?}",
                got.days.len(),
                r.dates.len(),
                r.dates
            )
        });
    }
    f.finish();
}

#[test]
fn a_clean_recording_imported_twice_is_a_duplicate() {
    let mut f = Failures::default();
    for stem in CLEAN {
        let path = clean_file(stem);
        let file = name(&path);
        let env = Env::init();
        let first = import(&env, &path, &[]);
        let second = import(&env, &path, &[]);
        match (first, second) {
            (Ok(first), Ok(second)) => {
                f.check(second["status"] == "duplicate", || {
                    format!(
                        "{file}: second import status {}, expected duplicate",
                        second["status"]
                    )
                });
                f.check(second["patrol_id"] == first["patrol_id"], || {
                    format!(
                        "{file}: second import patrol {}, the first is {}",
                        second["patrol_id"], first["patrol_id"]
                    )
                });
            }
            (Err(e), _) | (_, Err(e)) => f.fail(e),
        }
        let n = patrols(&env).len();
        f.check(n == 1, || {
            format!("{file}: {n} patrols after importing it twice, expected 1")
        });
    }
    f.finish();
}

// ------------------------------------------------------------------ one test per fault family

#[test]
fn a_fix_at_null_island_is_left_out_and_reported() {
    let mut f = Failures::default();
    check_fault(
        &mut f,
        &Fault {
            name: "null-island",
            kinds: &["null_island"],
            own_walk: false,
            dates_of_fixes: false,
        },
    );
    check_fault(
        &mut f,
        &Fault {
            name: "null-island-first",
            kinds: &["null_island"],
            own_walk: false,
            dates_of_fixes: false,
        },
    );
    f.finish();
}

#[test]
fn a_multipath_spike_55_km_away_is_left_out_and_reported() {
    let mut f = Failures::default();
    check_fault(
        &mut f,
        &Fault {
            name: "spike",
            kinds: &["spike"],
            own_walk: false,
            dates_of_fixes: false,
        },
    );
    f.finish();
}

#[test]
fn a_stale_first_fix_from_3_days_before_is_left_out_and_reported() {
    let mut f = Failures::default();
    check_fault(
        &mut f,
        &Fault {
            name: "stale-first",
            kinds: &["stale_fix"],
            own_walk: false,
            dates_of_fixes: false,
        },
    );
    f.finish();
}

#[test]
fn a_logger_left_on_for_3_weeks_adds_no_effort() {
    let mut f = Failures::default();
    check_fault(
        &mut f,
        &Fault {
            name: "logger-weeks",
            kinds: &["stay", "time_gap"],
            own_walk: false,
            dates_of_fixes: false,
        },
    );
    f.finish();
}

#[test]
fn a_gps_switched_off_for_40_hours_is_a_gap_not_effort() {
    // The walk goes on 40 h later: its second part is real effort on its own local
    // date(s), but the 40 h in between are not.
    let mut f = Failures::default();
    check_fault(
        &mut f,
        &Fault {
            name: "off-40h",
            kinds: &["time_gap"],
            own_walk: false,
            dates_of_fixes: true,
        },
    );
    f.finish();
}

#[test]
fn a_current_gpx_alone_counts_its_whole_walk() {
    // Current.gpx holds the recording and ~20 % more of the walk: alone, it is all real.
    let mut f = Failures::default();
    check_fault(
        &mut f,
        &Fault {
            name: "current",
            kinds: &[],
            own_walk: true,
            dates_of_fixes: true,
        },
    );
    f.finish();
}

// ------------------------------------------------------------------ the same walk twice

#[test]
fn resaved_and_renamed_copies_are_duplicates_of_the_first_import() {
    let mut f = Failures::default();
    for stem in CLEAN {
        let env = Env::init();
        let first = match import(&env, &clean_file(stem), &[]) {
            Ok(r) => r,
            Err(e) => {
                f.fail(e);
                continue;
            }
        };
        for copy in ["resaved", "renamed"] {
            let path = fault_file(stem, copy);
            let file = name(&path);
            match import(&env, &path, &[]) {
                Ok(r) => {
                    f.check(r["status"] == "duplicate", || {
                        format!(
                            "{file}: status {}, expected duplicate of {}.gpx (patrol {})",
                            r["status"], stem, first["patrol_id"]
                        )
                    });
                    f.check(r["patrol_id"] == first["patrol_id"], || {
                        format!(
                            "{file}: patrol_id {}, expected the first import's {}",
                            r["patrol_id"], first["patrol_id"]
                        )
                    });
                }
                Err(e) => f.fail(e),
            }
        }
        let n = patrols(&env).len();
        f.check(n == 1, || {
            format!("{stem}: {n} patrols after importing it, its re-saved and its renamed copy; expected 1")
        });
    }
    f.finish();
}

/// Does `text` name the patrol `id`, in full or by its first 8 characters?
fn names(text: &str, id: &str) -> bool {
    text.contains(id) || text.contains(&id[..id.len().min(8)])
}

#[test]
fn a_current_gpx_imported_after_its_track_is_flagged_as_the_same_walk() {
    let mut f = Failures::default();
    for stem in CLEAN {
        let env = Env::init();
        let path = fault_file(stem, "current");
        let file = name(&path);
        let (first, second) = match (
            import(&env, &clean_file(stem), &[]),
            import(&env, &path, &[]),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                f.fail(e);
                continue;
            }
        };
        let first_id = first["patrol_id"].as_str().unwrap_or_default().to_owned();
        f.check(second["status"] == "imported", || {
            format!(
                "{file}: status {}, expected imported (it holds more than {stem}.gpx)",
                second["status"]
            )
        });
        let second_id = second["patrol_id"].as_str().unwrap_or_default().to_owned();
        f.check(!second_id.is_empty() && second_id != first_id, || {
            format!("{file}: patrol_id {second_id:?}, expected a new patrol besides {first_id}")
        });
        check_warnings(&mut f, &file, &second, &["duplicate_track"]);
        let warned = second["warnings"].as_array().is_some_and(|ws| {
            ws.iter().any(|w| {
                w["kind"] == "duplicate_track"
                    && names(w["message"].as_str().unwrap_or_default(), &first_id)
            })
        });
        f.check(warned, || {
            format!(
                "{file}: no duplicate_track warning whose message names patrol {first_id}: {}",
                second["warnings"]
            )
        });
        let (findings, _, stderr) = run(&env, &["check", "--json"]);
        let flagged = findings
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|list| {
                list.iter().any(|finding| {
                    let text = finding.to_string();
                    finding["severity"] != "ok"
                        && names(&text, &first_id)
                        && !second_id.is_empty()
                        && names(&text, &second_id)
                })
            });
        f.check(flagged, || {
            format!(
                "{file}: `check --json` has no finding (severity not ok) naming both patrols {first_id} and {second_id}: {findings:?} {stderr}"
            )
        });
    }
    f.finish();
}

// ------------------------------------------------------------------ Garmin waypoint files

#[test]
fn a_waypoint_file_joins_the_patrol_whose_track_holds_its_times() {
    let mut f = Failures::default();
    for (stem, waypoints) in WAYPOINT_FILES {
        let env = Env::init();
        let path = data(&format!("field/faults/{waypoints}"));
        let expected = reference(&path).waypoints;
        let (track, marks) = match (
            import(&env, &clean_file(stem), &[]),
            import(&env, &path, &[]),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                f.fail(e);
                continue;
            }
        };
        let id = track["patrol_id"].as_str().unwrap_or_default().to_owned();
        f.check(marks["status"] == "imported", || {
            format!(
                "{waypoints} after {stem}.gpx: status {}, expected imported",
                marks["status"]
            )
        });
        f.check(marks["patrol_id"] == track["patrol_id"], || {
            format!(
                "{waypoints} after {stem}.gpx: patrol_id {}, expected the track's patrol {id}",
                marks["patrol_id"]
            )
        });
        f.check(
            marks["observations"].as_u64() == Some(expected as u64),
            || {
                format!(
                    "{waypoints}: observations {}, the file has {expected} waypoints",
                    marks["observations"]
                )
            },
        );
        let n = patrols(&env).len();
        f.check(n == 1, || {
            format!("{waypoints} after {stem}.gpx: {n} patrols, expected 1 (the track's)")
        });
        // Judge the categories where the waypoints went, so a wrong patrol does not hide them.
        let holder = marks["patrol_id"].as_str().unwrap_or(&id).to_owned();
        let detail = match show(&env, &holder) {
            Ok(d) => d,
            Err(e) => {
                f.fail(format!("{waypoints}: {e}"));
                continue;
            }
        };
        let observation = |raw: &str| {
            detail["observations"].as_array().and_then(|list| {
                list.iter()
                    .find(|o| o["raw_name"].as_str() == Some(raw))
                    .cloned()
            })
        };
        match observation("Camp") {
            Some(o) => f.check(o["category"] == "other" && o["threat"] == false, || {
                format!(
                    "{waypoints}: \"Camp\" (the rangers' camp) is {} threat {}, expected other and no threat",
                    o["category"], o["threat"]
                )
            }),
            None => f.fail(format!("{waypoints}: no observation \"Camp\" on patrol {holder}")),
        }
        match observation("Snare 1") {
            Some(o) => f.check(o["category"] == "snare" && o["threat"] == true, || {
                format!(
                    "{waypoints}: \"Snare 1\" is {} threat {}, expected snare and a threat",
                    o["category"], o["threat"]
                )
            }),
            None => f.fail(format!(
                "{waypoints}: no observation \"Snare 1\" on patrol {holder}"
            )),
        }
    }
    f.finish();
}

#[test]
fn waypoints_no_track_holds_are_refused_unless_a_patrol_is_named() {
    let mut f = Failures::default();
    let orphan = data("field/faults/Waypoints_orphan.gpx");
    let expected = reference(&orphan).waypoints;
    let refused = |f: &mut Failures, env: &Env, when: &str| {
        let before = patrols(env);
        match import(env, &orphan, &[]) {
            Ok(r) => {
                f.check(r["status"] == "failed", || {
                    format!(
                        "Waypoints_orphan.gpx {when}: status {}, expected failed",
                        r["status"]
                    )
                });
                let error = r["error"].as_str().unwrap_or_default().to_lowercase();
                f.check(error.contains("no patrol") && error.contains("--patrol"), || {
                    format!(
                        "Waypoints_orphan.gpx {when}: error {}, expected one saying no patrol fits and naming --patrol",
                        r["error"]
                    )
                });
            }
            Err(e) => f.fail(e),
        }
        let after = patrols(env);
        f.check(after == before, || {
            format!(
                "Waypoints_orphan.gpx {when}: patrols changed from {} to {} entries, expected nothing added",
                before.len(),
                after.len()
            )
        });
    };

    // Alone in an empty database.
    let env = Env::init();
    refused(&mut f, &env, "in an empty database");

    // Beside a recording three months away: still no patrol holds its times.
    let env = Env::init();
    match import(&env, &clean_file("korita-zbevnica"), &[]) {
        Ok(track) => {
            refused(&mut f, &env, "beside korita-zbevnica.gpx");
            let id = track["patrol_id"].as_str().unwrap_or_default().to_owned();
            match import(&env, &orphan, &["--patrol", &id]) {
                Ok(r) => {
                    f.check(r["status"] == "imported", || {
                        format!(
                            "Waypoints_orphan.gpx --patrol {id}: status {}, expected imported",
                            r["status"]
                        )
                    });
                    f.check(r["patrol_id"] == track["patrol_id"], || {
                        format!(
                            "Waypoints_orphan.gpx --patrol {id}: patrol_id {}, expected {id}",
                            r["patrol_id"]
                        )
                    });
                    f.check(r["observations"].as_u64() == Some(expected as u64), || {
                        format!(
                            "Waypoints_orphan.gpx --patrol {id}: observations {}, the file has {expected} waypoints",
                            r["observations"]
                        )
                    });
                }
                Err(e) => f.fail(e),
            }
            let n = patrols(&env).len();
            f.check(n == 1, || {
                format!("Waypoints_orphan.gpx --patrol {id}: {n} patrols, expected 1")
            });
        }
        Err(e) => f.fail(e),
    }
    f.finish();
}
