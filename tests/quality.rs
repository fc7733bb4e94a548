//! Quality control end to end: a person overrules the rules, dates an untimed
//! track, reads phone-app local times; clocks that lie give warnings; deleted
//! patrols leave the map; a person's word travels through a merge.

#![allow(clippy::float_cmp)] // exact values are meant: 0, and the same figure read twice

use serde_json::Value;

use crate::util::{Env, gpx};

/// A walk north from (14.2, 102.1): `n` fixes `step_s` seconds and ~12 m apart.
fn walk(n: usize, start: &str, step_s: i64) -> Vec<(f64, f64, Option<String>)> {
    let t0 = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    (0..n)
        .map(|i| {
            let t = t0 + chrono::Duration::seconds(step_s * i as i64);
            (
                14.2 + i as f64 * 12.0 / 110_574.0,
                102.1,
                Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            )
        })
        .collect()
}

fn file(env: &Env, name: &str, pts: &[(f64, f64, Option<String>)]) -> String {
    let pts: Vec<(f64, f64, Option<&str>)> =
        pts.iter().map(|(a, b, t)| (*a, *b, t.as_deref())).collect();
    env.write(name, &gpx(&pts, &[])).display().to_string()
}

fn import(env: &Env, path: &str, extra: &[&str]) -> Value {
    let mut args = vec!["import", "--team", "Alpha", "--json"];
    args.extend_from_slice(extra);
    args.push(path);
    let (r, code) = env.json(&args);
    assert_eq!(code, 0, "{r}");
    r[0].clone()
}

fn show(env: &Env, id: &str) -> Value {
    env.json(&["show", "--json", id]).0
}

fn kinds(r: &Value) -> Vec<String> {
    r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_person_keeps_a_fix_the_rules_dropped_and_drops_one_they_kept() {
    let env = Env::init();
    let mut pts = walk(200, "2026-10-04T01:00:00Z", 10);
    pts[100].0 += 0.5; // 55 km off: a spike
    let r = import(&env, &file(&env, "spike.gpx", &pts), &[]);
    let id = r["patrol_id"].as_str().unwrap().to_owned();
    assert!(kinds(&r).contains(&"spike".to_owned()), "{r}");
    let clean = show(&env, &id)["km"].as_f64().unwrap();
    assert!((clean - 199.0 * 12.0 / 1000.0).abs() < 0.05, "{clean}");
    let shown = show(&env, &id);
    assert_eq!(shown["marked_fixes"][0]["point"], 101, "{shown}");
    assert_eq!(shown["marked_fixes"][0]["segment"], 1);
    assert_eq!(shown["marked_fixes"][0]["excluded"], true);

    // Keep it: the 111 km come back, as a new version; the fix shows as kept.
    let versions = shown["versions"].as_u64().unwrap();
    env.cmd()
        .args(["edit", "patrol", &id, "--keep-fix", "1:101"])
        .assert()
        .success();
    let kept = show(&env, &id);
    assert!(kept["km"].as_f64().unwrap() > 100.0, "{kept}");
    assert_eq!(kept["versions"].as_u64().unwrap(), versions + 1);
    assert_eq!(kept["marked_fixes"][0]["excluded"], false);
    assert!(kinds(&kept).contains(&"kept_fix".to_owned()));

    // Drop it again, and a good one too: less than the clean track.
    env.cmd()
        .args([
            "edit",
            "patrol",
            &id,
            "--drop-fix",
            "1:101",
            "--drop-fix",
            "1:50",
        ])
        .assert()
        .success();
    let dropped = show(&env, &id)["km"].as_f64().unwrap();
    assert!(
        dropped <= clean + 1e-9 && dropped > clean - 0.03,
        "{dropped} vs {clean}"
    );
    // A fix that does not exist is refused, nothing changes.
    env.cmd()
        .args(["edit", "patrol", &id, "--keep-fix", "1:999"])
        .assert()
        .failure();
    assert_eq!(show(&env, &id)["km"].as_f64().unwrap(), dropped);
}

#[test]
fn a_persons_word_on_a_fix_travels_through_a_merge() {
    let env = Env::init();
    let mut pts = walk(100, "2026-10-04T01:00:00Z", 10);
    pts[50].0 += 0.5;
    let id = import(&env, &file(&env, "spike.gpx", &pts), &[])["patrol_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = env.path("first.gpkg");
    env.cmd()
        .args(["export", "--out", first.to_str().unwrap()])
        .assert()
        .success();
    env.cmd()
        .args(["edit", "patrol", &id, "--keep-fix", "1:51"])
        .assert()
        .success();
    let delta = env.path("delta.gpkg");
    env.cmd()
        .args([
            "export",
            "--since-last-export",
            "--out",
            delta.to_str().unwrap(),
        ])
        .assert()
        .success();
    let office = Env {
        dir: tempfile::tempdir().unwrap(),
        db: env.path("office.gpkg"),
    };
    office
        .cmd()
        .args(["init", "--join", env.db.to_str().unwrap()])
        .assert()
        .success();
    // The full file first: the office derives the rows of the first version.
    office
        .cmd()
        .args(["merge", first.to_str().unwrap()])
        .assert()
        .success();
    assert!(show(&office, &id)["km"].as_f64().unwrap() < 2.0);
    // The delta holds only the new leg version: the office derives again.
    office
        .cmd()
        .args(["merge", delta.to_str().unwrap()])
        .assert()
        .success();
    let here = show(&env, &id)["km"].as_f64().unwrap();
    let there = show(&office, &id)["km"].as_f64().unwrap();
    assert!(here > 100.0);
    assert!((here - there).abs() < 1e-9, "{here} vs {there}");
}

#[test]
fn a_track_without_time_is_dated_after_the_fact() {
    let env = Env::init();
    let pts: Vec<(f64, f64, Option<String>)> = walk(50, "2026-10-04T01:00:00Z", 10)
        .into_iter()
        .map(|(a, b, _)| (a, b, None))
        .collect();
    let r = import(&env, &file(&env, "untimed.gpx", &pts), &[]);
    let id = r["patrol_id"].as_str().unwrap().to_owned();
    assert!(kinds(&r).contains(&"undated".to_owned()));
    let oct = |env: &Env| {
        env.json(&["report", "--month", "2026-10", "--format", "json"])
            .0["effort"]["km"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(oct(&env), 0.0);
    env.cmd()
        .args(["edit", "patrol", &id, "--date", "2026-10-04"])
        .assert()
        .success();
    assert!((oct(&env) - 49.0 * 0.012).abs() < 0.01);
    assert_eq!(show(&env, &id)["days"][0]["date"], "2026-10-04");
    // A timed track is dated by its times.
    let timed = import(
        &env,
        &file(&env, "timed.gpx", &walk(5, "2026-10-05T01:00:00Z", 10)),
        &[],
    );
    env.cmd()
        .args([
            "edit",
            "patrol",
            timed["patrol_id"].as_str().unwrap(),
            "--date",
            "2026-10-04",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("has times"));
}

#[test]
fn local_times_without_a_zone_are_read_as_the_person_says() {
    let env = Env::init();
    // A phone app wrote Bangkok local time without a zone: 06:30 local.
    let pts: Vec<(f64, f64, Option<String>)> = walk(30, "2026-10-04T06:30:00Z", 60)
        .into_iter()
        .map(|(a, b, t)| (a, b, t.map(|t| t.trim_end_matches('Z').to_owned())))
        .collect();
    let f = file(&env, "phone.gpx", &pts);
    let as_utc = import(&env, &f, &[]);
    assert!(kinds(&as_utc).contains(&"no_zone".to_owned()), "{as_utc}");
    assert_eq!(as_utc["first_time"], "2026-10-04T06:30:00Z");
    env.cmd()
        .args(["delete", "patrol", as_utc["patrol_id"].as_str().unwrap()])
        .assert()
        .success();
    let env2 = Env::init();
    let local = import(&env2, &f, &["--assume-zone", "site"]);
    assert_eq!(local["first_time"], "2026-10-03T23:30:00Z");
    let offset = import(&Env::init(), &f, &["--assume-zone", "+05:30"]);
    assert_eq!(offset["first_time"], "2026-10-04T01:00:00Z");
    env.cmd()
        .args(["import", "--team", "A", "--assume-zone", "Mars", &f])
        .assert()
        .failure();
}

#[test]
fn clocks_that_lie_are_named() {
    let env = Env::init();
    // 1,024 weeks early (a GPS week rollover): dated 2007 for 2026.
    let early = walk(20, "2006-12-04T01:00:00Z", 10);
    let r = import(&env, &file(&env, "rollover.gpx", &early), &[]);
    assert!(kinds(&r).contains(&"week_rollover".to_owned()), "{r}");
    let ancient = walk(20, "1999-08-01T01:00:00Z", 10);
    let r = import(&env, &file(&env, "ancient.gpx", &ancient), &[]);
    assert!(kinds(&r).contains(&"early_time".to_owned()), "{r}");
    let future = walk(20, "2099-01-01T01:00:00Z", 10);
    let r = import(&env, &file(&env, "future.gpx", &future), &[]);
    assert!(kinds(&r).contains(&"future_time".to_owned()), "{r}");
    // A track over 20 days: a patrol longer than the site allows.
    let mut long = walk(20, "2026-10-01T01:00:00Z", 10);
    long.extend(walk(20, "2026-10-21T01:00:00Z", 10));
    let r = import(&env, &file(&env, "long.gpx", &long), &[]);
    assert!(kinds(&r).contains(&"long_patrol".to_owned()), "{r}");
    // A car on a foot patrol.
    let car: Vec<_> = (0..60)
        .map(|i| {
            (
                14.3 + f64::from(i) * 167.0 / 110_574.0,
                102.2,
                Some(format!("2026-11-02T01:{:02}:{:02}Z", i / 6, i % 6 * 10)),
            )
        })
        .collect();
    let r = import(&env, &file(&env, "car.gpx", &car), &[]);
    assert!(kinds(&r).contains(&"implausible_speed".to_owned()), "{r}");
    let (check, code) = env.json(&["check", "--json"]);
    assert_eq!(code, 1);
    assert!(
        check.to_string().contains("--transport vehicle"),
        "check says how to fix it: {check}"
    );
}

#[test]
fn a_deleted_patrol_leaves_the_map_coverage_and_undated_km() {
    let env = Env::init();
    let boundary = env.write(
        "park.geojson",
        r#"{"type":"Polygon","coordinates":[[[102.0,14.1],[102.3,14.1],[102.3,14.4],[102.0,14.4],[102.0,14.1]]]}"#,
    );
    env.cmd()
        .args(["site", "boundary", "set", boundary.to_str().unwrap()])
        .assert()
        .success();
    let timed = import(
        &env,
        &file(&env, "a.gpx", &walk(50, "2026-10-04T01:00:00Z", 10)),
        &[],
    );
    let untimed: Vec<_> = walk(50, "2026-10-04T01:00:00Z", 10)
        .into_iter()
        .map(|(a, b, _)| (a + 0.01, b, None))
        .collect();
    let untimed = import(&env, &file(&env, "b.gpx", &untimed), &[]);
    let report = |env: &Env| {
        env.json(&["report", "--month", "2026-10", "--format", "json"])
            .0
    };
    let before = report(&env);
    assert!(!before["map"]["lines"].as_array().unwrap().is_empty());
    assert!(before["coverage"]["km"].as_f64().unwrap() > 0.5);
    assert!(before["undated_km"].as_f64().unwrap() > 0.5);
    for r in [&timed, &untimed] {
        env.cmd()
            .args(["delete", "patrol", r["patrol_id"].as_str().unwrap()])
            .assert()
            .success();
    }
    let after = report(&env);
    assert_eq!(
        after["map"]["lines"].as_array().unwrap().len(),
        0,
        "{after}"
    );
    assert_eq!(after["coverage"]["km"].as_f64().unwrap(), 0.0);
    assert_eq!(after["undated_km"].as_f64().unwrap(), 0.0);
    // Importing a deleted patrol's file again says so, and how to restore it.
    let again = import(&env, &env.path("a.gpx").display().to_string(), &[]);
    assert_eq!(again["status"], "duplicate");
    assert!(
        kinds(&again).contains(&"deleted_patrol".to_owned()),
        "{again}"
    );
    // The warning's command restores it, by its short id.
    let short = again["short_id"].as_str().unwrap();
    assert!(
        again
            .to_string()
            .contains(&format!("patrol restore patrol {short}"))
    );
    env.cmd()
        .args(["restore", "patrol", short])
        .assert()
        .success();
    let restored = report(&env);
    assert!(!restored["map"]["lines"].as_array().unwrap().is_empty());
}

#[test]
fn each_layer_extent_holds_its_own_features() {
    let env = Env::init();
    let f = env.write(
        "w.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.2, Some("2026-10-04T02:00:00Z")),
            ],
            &[(15.0, 103.0, "Snare", Some("2026-10-04T01:30:00Z"))],
        ),
    );
    import(&env, f.to_str().unwrap(), &[]);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let extent = |t: &str| -> (f64, f64, f64, f64) {
        conn.query_row(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?1",
            [t],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    };
    assert_eq!(extent("tracks"), (102.1, 14.2, 102.2, 14.3));
    assert_eq!(extent("observations"), (103.0, 15.0, 103.0, 15.0));
}

#[test]
fn track_outside_the_site_boundary_is_named_with_its_km() {
    let env = Env::init();
    let f = file(&env, "walk.gpx", &walk(1001, "2026-10-04T01:00:00Z", 10));
    let r = import(&env, &f, &[]);
    assert!(
        !kinds(&r).contains(&"outside_boundary".to_owned()),
        "no boundary yet"
    );
    // A park holding the first half of the walk; setting it measures the tracks again.
    let boundary = env.write(
        "park.geojson",
        r#"{"type":"Polygon","coordinates":[[[102.0,14.1],[102.2,14.1],[102.2,14.2543],[102.0,14.2543],[102.0,14.1]]]}"#,
    );
    env.cmd()
        .args(["site", "boundary", "set", boundary.to_str().unwrap()])
        .assert()
        .success();
    let shown = show(&env, r["patrol_id"].as_str().unwrap());
    let w = shown["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "outside_boundary")
        .unwrap_or_else(|| panic!("{shown}"))
        .clone();
    let outside = w["km"].as_f64().unwrap();
    assert!((outside - 6.0).abs() < 0.2, "{w}");
    let (report, _) = env.json(&["report", "--month", "2026-10", "--format", "json"]);
    let dq = report["data_quality"]["km_outside_boundary"]
        .as_f64()
        .unwrap();
    assert!((dq - outside).abs() < 1e-9, "{report}");
}

#[test]
fn the_same_track_imported_on_two_devices_is_named_after_a_merge_until_one_is_deleted() {
    let office = Env::init();
    let outpost = Env {
        dir: tempfile::tempdir().unwrap(),
        db: office.path("outpost.gpkg"),
    };
    outpost
        .cmd()
        .args(["init", "--join", office.db.to_str().unwrap()])
        .assert()
        .success();
    let f = file(&office, "walk.gpx", &walk(300, "2026-10-04T01:00:00Z", 10));
    let here = import(&office, &f, &[]);
    // The outpost has the same walk, re-saved by another program (other bytes).
    let resaved = std::fs::read_to_string(&f)
        .unwrap()
        .replace("creator=\"test\"", "creator=\"BaseCamp\"");
    let g = outpost.write("copy.gpx", &resaved);
    let there = import(&outpost, g.to_str().unwrap(), &[]);
    let out = office.path("outpost-export.gpkg");
    outpost
        .cmd()
        .args(["export", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    office
        .cmd()
        .args(["merge", out.to_str().unwrap()])
        .assert()
        .success();
    let (check, code) = office.json(&["check", "--json"]);
    assert_eq!(code, 1, "{check}");
    let names_both = check.as_array().unwrap().iter().any(|f| {
        let d = f["detail"].as_str().unwrap();
        f["check"] == "duplicate tracks"
            && d.contains(here["patrol_id"].as_str().unwrap())
            && d.contains(there["patrol_id"].as_str().unwrap())
            && d.contains("walk.gpx")
            && d.contains("copy.gpx")
    });
    assert!(names_both, "{check}");
    let (report, _) = office.json(&["report", "--month", "2026-10", "--format", "json"]);
    assert_eq!(
        report["data_quality"]["duplicate_tracks"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{report}"
    );
    office
        .cmd()
        .args(["delete", "patrol", there["patrol_id"].as_str().unwrap()])
        .assert()
        .success();
    let (check, _) = office.json(&["check", "--json"]);
    let dup = check
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "duplicate tracks")
        .unwrap();
    assert_eq!(dup["severity"], "ok", "{check}");
}

#[test]
fn a_stale_fix_where_the_walk_starts_adds_no_day_and_no_hour() {
    let env = Env::init();
    let clean = walk(200, "2026-10-04T01:00:00Z", 10);
    let mut faulty = clean.clone();
    // The unit's last fix, three days before, at the outpost this walk starts from.
    faulty.insert(
        0,
        (
            clean[0].0,
            clean[0].1,
            Some("2026-10-01T09:00:00Z".to_owned()),
        ),
    );
    let a = import(&env, &file(&env, "clean.gpx", &clean), &[]);
    let b = import(&Env::init(), &file(&env, "stale.gpx", &faulty), &[]);
    assert!(kinds(&b).contains(&"stale_fix".to_owned()), "{b}");
    let env_b = Env::init();
    let b = import(&env_b, &file(&env_b, "stale.gpx", &faulty), &[]);
    let (sa, sb) = (
        show(&env, a["patrol_id"].as_str().unwrap()),
        show(&env_b, b["patrol_id"].as_str().unwrap()),
    );
    assert_eq!(sa["days"].as_array().unwrap().len(), 1);
    assert_eq!(sb["days"].as_array().unwrap().len(), 1, "{sb}");
    assert!((sa["km"].as_f64().unwrap() - sb["km"].as_f64().unwrap()).abs() < 1e-9);
    assert!((sa["hours"].as_f64().unwrap() - sb["hours"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn an_office_database_of_the_previous_schema_is_joined_and_upgraded() {
    let office = Env::init();
    let f = file(&office, "walk.gpx", &walk(100, "2026-10-04T01:00:00Z", 10));
    import(&office, &f, &[]);
    // Back to schema 3: no quality control tables, no quarantine decisions,
    // no observation attributes.
    {
        let conn = rusqlite::Connection::open(&office.db).unwrap();
        conn.execute_batch(
            "DROP TABLE qc_settings; DROP TABLE leg_qc; DROP TABLE fix_marks; DROP TABLE fix_samples;
             ALTER TABLE leg_versions DROP COLUMN date; ALTER TABLE leg_versions DROP COLUMN fix_overrides;
             ALTER TABLE legs DROP COLUMN date; ALTER TABLE legs DROP COLUMN fix_overrides;
             ALTER TABLE quarantine DROP COLUMN decided_at; ALTER TABLE quarantine DROP COLUMN decision;
             ALTER TABLE observation_versions DROP COLUMN attributes;
             ALTER TABLE observations DROP COLUMN attributes;
             DROP TABLE model_versions; DROP TABLE model_definitions; DROP TABLE users;
             DELETE FROM patrol_migrations WHERE version >= 4;",
        )
        .unwrap();
    }
    // An outpost joins it as it is (read only) ...
    let outpost = Env {
        dir: tempfile::tempdir().unwrap(),
        db: office.path("outpost.gpkg"),
    };
    outpost
        .cmd()
        .args(["init", "--join", office.db.to_str().unwrap()])
        .assert()
        .success();
    // ... and the office's next command upgrades it and derives its legs.
    let (patrols, code) = office.json(&["patrols", "--json"]);
    assert_eq!(code, 0, "{patrols}");
    let id = patrols[0]["patrol_id"].as_str().unwrap();
    assert!((show(&office, id)["km"].as_f64().unwrap() - 99.0 * 0.012).abs() < 0.01);
}
