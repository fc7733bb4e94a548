//! `patrol import` on the 28 real files of gpxpy's test suite, checked against
//! figures from independent tools (gpxpy and pyproj), and on broken files.

use serde_json::Value;

use crate::util::{Env, data, gpx};

fn truth() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(data("gpxpy/truth.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

/// RFC 3339 to microseconds, to compare times whatever their spelling. gpxpy
/// writes a time without zone as it was read: UTC, as the GPX schema says.
fn micros(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(&format!("{s}Z")))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .timestamp_micros()
}

#[test]
fn real_files_match_independent_tools() {
    let truth = truth();
    assert_eq!(truth.len(), 28);
    let mut files: Vec<_> = truth.keys().map(|k| data(&format!("gpxpy/{k}"))).collect();
    files.sort();
    // One database per file: several of these files are one track saved by
    // other programs, which one database rightly calls duplicates (below).
    let mut reports = Vec::new();
    for f in &files {
        let env = Env::init();
        let out = env
            .cmd()
            .args(["import", "--team", "Alpha", "--json"])
            .arg(f)
            .output()
            .unwrap();
        let r: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let r = r[0].clone();
        // A refused file makes the exit status 1.
        let failed = r["status"] == "failed";
        assert_eq!(out.status.code(), Some(i32::from(failed)), "{r}");
        let (patrols, _) = env.json(&["patrols", "--json"]);
        assert_eq!(patrols.as_array().unwrap().len(), usize::from(!failed));
        reports.push(r);
    }
    let mut checked_lengths = 0;
    for r in &reports {
        let name = std::path::Path::new(r["file"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let t = &truth[name];
        let nothing = t["track_points"] == 0 && t["waypoints"] == 0;
        if nothing {
            // Nothing to record (an empty file, a route only): refused, not an empty patrol.
            assert_eq!(r["status"], "failed", "{name}");
            assert!(
                r["error"].as_str().unwrap().contains("nothing to import"),
                "{name}: {r}"
            );
            continue;
        }
        if t["track_points"] == 0 {
            // Waypoints only, no patrol to join: refused until told which.
            assert_eq!(r["status"], "failed", "{name}");
            assert!(
                r["error"].as_str().unwrap().contains("--patrol"),
                "{name}: {r}"
            );
            continue;
        }
        assert_eq!(r["status"], "imported", "{name}: {r}");
        let counted = r["counted_length_m"].as_f64().unwrap();
        assert!(
            counted <= r["length_m"].as_f64().unwrap() + 1e-6,
            "{name}: {r}"
        );
        for (ours, theirs) in [
            ("tracks", "tracks"),
            ("segments", "nonempty_segments"),
            ("track_points", "track_points"),
            ("waypoints", "waypoints"),
            ("observations", "waypoints"),
            ("route_points_skipped", "route_points"),
        ] {
            assert_eq!(r[ours], t[theirs], "{name}: {ours}");
        }
        let ours = r["length_m"].as_f64().unwrap();
        let theirs = t["track_length_m"].as_f64().unwrap();
        let tolerance = if theirs < 100.0 { 0.01 } else { theirs * 1e-4 };
        assert!(
            (ours - theirs).abs() <= tolerance,
            "{name}: length {ours} vs {theirs}"
        );
        checked_lengths += 1;
        for key in ["first_time", "last_time"] {
            match (r[key].as_str(), t[key].as_str()) {
                (Some(a), Some(b)) => assert_eq!(micros(a), micros(b), "{name}: {key}"),
                (a, b) => assert_eq!(a, b, "{name}: {key}"),
            }
        }
    }
    assert!(checked_lengths >= 18, "{checked_lengths}");
}

#[test]
fn one_track_saved_by_other_programs_is_a_duplicate_of_the_first() {
    let env = Env::init();
    let first = data("gpxpy/cerknicko-jezero.gpx");
    let (r, code) = env.json(&["import", "--team", "A", "--json", first.to_str().unwrap()]);
    assert_eq!(code, 0);
    let id = r[0]["patrol_id"].as_str().unwrap().to_owned();
    // The same fixes with other elevations, another creator, no elevations.
    for other in [
        "cerknicko-jezero-with-elevations-zero.gpx",
        "cerknicko-jezero-no-creator.gpx",
        "cerknicko-jezero-without-elevations.gpx",
    ] {
        let f = data(&format!("gpxpy/{other}"));
        let (r, code) = env.json(&["import", "--team", "A", "--json", f.to_str().unwrap()]);
        assert_eq!(code, 0, "{other}: {r}");
        assert_eq!(r[0]["status"], "duplicate", "{other}: {r}");
        assert_eq!(r[0]["patrol_id"], id.as_str(), "{other}");
    }
    let (patrols, _) = env.json(&["patrols", "--json"]);
    assert_eq!(patrols.as_array().unwrap().len(), 1);
}

#[test]
fn the_same_file_twice_is_a_duplicate_and_changes_nothing() {
    let env = Env::init();
    let f = data("gpxpy/korita-zbevnica.gpx");
    let (first, code) = env.json(&["import", "--team", "A", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(first[0]["status"], "imported");
    // A copy under another name is the same content.
    let copy = env.path("copy.gpx");
    std::fs::copy(&f, &copy).unwrap();
    let (second, code) = env.json(&["import", "--team", "A", "--json", copy.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(second[0]["status"], "duplicate");
    assert_eq!(second[0]["patrol_id"], first[0]["patrol_id"]);
    let (patrols, _) = env.json(&["patrols", "--json"]);
    assert_eq!(patrols.as_array().unwrap().len(), 1);
}

#[test]
fn a_bad_file_fails_alone_with_its_name_and_line_and_leaves_nothing_behind() {
    let env = Env::init();
    let good = data("gpxpy/track_with_speed.gpx");
    let bad = data("bad/lat-95.gpx");
    let (reports, code) = env.json(&[
        "import",
        "--team",
        "A",
        "--json",
        bad.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(reports[0]["status"], "failed");
    let err = reports[0]["error"].as_str().unwrap();
    assert!(err.contains("lat-95.gpx:"), "{err}");
    assert!(err.contains("95"), "{err}");
    assert!(
        err.split(':').nth(1).unwrap().trim().parse::<u64>().is_ok(),
        "a line number: {err}"
    );
    assert_eq!(reports[1]["status"], "imported");
    let (patrols, _) = env.json(&["patrols", "--json"]);
    assert_eq!(
        patrols.as_array().unwrap().len(),
        1,
        "nothing of the bad file remains"
    );
}

#[test]
fn every_broken_file_is_refused_cleanly() {
    let env = Env::init();
    let mut names: Vec<_> = std::fs::read_dir(data("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    for path in &names {
        let out = env
            .cmd()
            .args(["import", "--team", "A", "--json"])
            .arg(path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let reports: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}: {text}", path.display()));
        let name = path.file_name().unwrap().to_str().unwrap();
        // The entity bomb and external entity may parse harmlessly (nothing expands);
        // all others must fail, naming the file.
        if reports[0]["status"] == "failed" {
            assert!(
                reports[0]["error"].as_str().unwrap().contains(name),
                "{name}: {}",
                reports[0]
            );
            assert_eq!(out.status.code(), Some(1), "{name}");
        } else {
            assert!(
                name.contains("entity"),
                "{name} was not refused: {}",
                reports[0]
            );
            let (patrols, _) = env.json(&["patrols", "--json"]);
            assert!(
                !patrols.to_string().contains("root:"),
                "nothing from /etc/passwd"
            );
        }
    }
}

#[test]
fn odd_encodings_import_with_correct_names() {
    let env = Env::init();
    let mut names: Vec<_> = std::fs::read_dir(data("odd"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    // Files of waypoints only join a patrol: this one.
    let track = env.write(
        "track.gpx",
        &gpx(
            &[
                (46.5, 13.8, Some("2026-10-04T01:00:00Z")),
                (46.51, 13.8, Some("2026-10-04T01:10:00Z")),
            ],
            &[],
        ),
    );
    let (r, _) = env.json(&["import", "--team", "A", "--json", track.to_str().unwrap()]);
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    for path in &names {
        let (mut r, mut code) =
            env.json(&["import", "--team", "A", "--json", path.to_str().unwrap()]);
        if r[0]["track_points"] == 0 {
            assert_eq!(r[0]["status"], "failed", "{}: {r}", path.display());
            assert!(r[0]["error"].as_str().unwrap().contains("--patrol"));
            (r, code) = env.json(&[
                "import",
                "--team",
                "A",
                "--json",
                "--patrol",
                &patrol,
                path.to_str().unwrap(),
            ]);
        }
        assert_eq!(code, 0, "{}: {r}", path.display());
        assert_eq!(r[0]["status"], "imported", "{}", path.display());
    }
    let (patrols, _) = env.json(&["patrols", "--json"]);
    assert!(patrols.as_array().unwrap().len() > 1, "{patrols}");
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    assert!(shown.to_string().contains("Café"), "{shown}");
}

#[test]
fn waypoints_become_categorised_observations_and_none_is_dropped() {
    let env = Env::init();
    let f = env.write(
        "wp.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.21, 102.1, Some("2026-10-04T01:10:00Z")),
            ],
            &[
                (14.2, 102.1, "Snare 2", Some("2026-10-04T01:05:00Z")),
                (14.2, 102.1, "Rosewood-3", None),
                (14.2, 102.1, "  wire   SNARE ", None),
                (14.2, 102.1, "Hunting Camp", None),
                (14.2, 102.1, "WP 001", None),
            ],
        ),
    );
    let (r, code) = env.json(&["import", "--team", "A", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(r[0]["observations"], 5);
    let (shown, _) = env.json(&["show", "--json", r[0]["patrol_id"].as_str().unwrap()]);
    let mut cats: Vec<&str> = shown["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["category"].as_str().unwrap())
        .collect();
    cats.sort_unstable();
    // "Rosewood" alone may be a living tree: no threat unless qualified.
    assert_eq!(cats, ["other", "other", "poacher_camp", "snare", "snare"]);
    assert_eq!(shown["threats"], 3);
}

#[test]
fn a_time_with_an_offset_is_stored_as_utc_to_the_microsecond() {
    let env = Env::init();
    let f = env.write(
        "tz.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-01T05:30:00.123456+07:00")),
                (14.21, 102.1, Some("2026-10-01T06:00:00")),
            ],
            &[],
        ),
    );
    let (r, _) = env.json(&["import", "--team", "A", "--json", f.to_str().unwrap()]);
    assert_eq!(r[0]["first_time"], "2026-09-30T22:30:00.123456Z");
    // A time without a zone is UTC (the GPX schema says so).
    assert_eq!(r[0]["last_time"], "2026-10-01T06:00:00Z");
    // Local date in Bangkok: October 1st, although UTC says September 30th.
    let (oct, _) = env.json(&["patrols", "--json", "--month", "2026-10"]);
    assert_eq!(oct.as_array().unwrap().len(), 1);
    let (sep, _) = env.json(&["patrols", "--json", "--month", "2026-09"]);
    assert_eq!(sep.as_array().unwrap().len(), 0);
}

#[test]
fn a_long_segment_is_stored_in_pieces_without_losing_a_pair() {
    let env = Env::init();
    // 10,000 points, so three pieces of at most 4096 points.
    let pts: Vec<(f64, f64, Option<String>)> = (0..10_000)
        .map(|i| {
            (
                14.0 + f64::from(i) * 1e-4,
                102.0,
                Some(format!(
                    "2026-10-04T{:02}:{:02}:{:02}Z",
                    i / 3600,
                    (i / 60) % 60,
                    i % 60
                )),
            )
        })
        .collect();
    let pts: Vec<(f64, f64, Option<&str>)> =
        pts.iter().map(|(a, b, t)| (*a, *b, t.as_deref())).collect();
    let f = env.write("long.gpx", &gpx(&pts, &[]));
    let (r, _) = env.json(&["import", "--team", "A", "--json", f.to_str().unwrap()]);
    assert_eq!(r[0]["track_points"], 10_000);
    assert_eq!(r[0]["segments"], 1);
    let expected = patrol_core::geodesy::line_length_m(
        &pts.iter()
            .map(|(lat, lon, _)| (*lon, *lat))
            .collect::<Vec<_>>(),
    );
    let got = r[0]["length_m"].as_f64().unwrap();
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let (pieces, points, km): (i64, i64, f64) = conn
        .query_row(
            "SELECT count(*), sum(points), sum(length_m) FROM tracks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(pieces, 3);
    assert_eq!(
        points,
        10_000 + 2,
        "consecutive pieces share their joining point"
    );
    assert!((km - expected).abs() < 1e-6);
    // Per-point times survive bit-exact.
    let times: Vec<u8> = conn
        .query_row("SELECT times FROM tracks WHERE piece_no = 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    let second = i64::from_le_bytes(times[8..16].try_into().unwrap());
    assert_eq!(
        second,
        chrono::DateTime::parse_from_rfc3339("2026-10-04T00:00:01Z")
            .unwrap()
            .timestamp_micros()
    );
    // The hours per day agree with the track: 9,999 s.
    let (shown, _) = env.json(&["show", "--json", r[0]["patrol_id"].as_str().unwrap()]);
    let hours: f64 = shown["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["hours"].as_f64().unwrap())
        .sum();
    assert!((hours - 9999.0 / 3600.0).abs() < 1e-9);
}
