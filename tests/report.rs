//! `patrol report` and `patrol site boundary set`: hand-computed cases through
//! the binary, the laws that must hold, and the HTML as a browser draws it.

use predicates::str::contains;
use serde_json::Value;

use crate::util::{Env, gpx};

fn km(points: &[(f64, f64)]) -> f64 {
    patrol_core::geodesy::line_length_m(
        &points
            .iter()
            .map(|(lat, lon)| (*lon, *lat))
            .collect::<Vec<_>>(),
    ) / 1000.0
}

fn import(env: &Env, name: &str, text: &str, extra: &[&str]) -> Value {
    let f = env.write(name, text);
    let mut args = vec!["import", "--team", "Alpha", "--members", "4", "--json"];
    args.extend_from_slice(extra);
    args.push(f.to_str().unwrap());
    let (r, code) = env.json(&args);
    assert_eq!(code, 0, "{r}");
    r[0].clone()
}

fn report(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["report", "--format", "json"];
    all.extend_from_slice(args);
    let (r, code) = env.json(&all);
    assert_eq!(code, 0, "{r}");
    r
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[test]
fn midnight_at_the_end_of_the_month_splits_by_local_date() {
    let env = Env::init();
    // Bangkok (UTC+7): 23:40, 23:55 on Oct 31; 00:20 on Nov 1 local.
    let pts = [(14.20, 102.10), (14.21, 102.10), (14.22, 102.10)];
    import(
        &env,
        "m.gpx",
        &gpx(
            &[
                (pts[0].0, pts[0].1, Some("2026-10-31T16:40:00Z")),
                (pts[1].0, pts[1].1, Some("2026-10-31T16:55:00Z")),
                (pts[2].0, pts[2].1, Some("2026-10-31T17:20:00Z")),
            ],
            &[(14.2, 102.1, "Snare", Some("2026-10-31T17:30:00Z"))],
        ),
        &[],
    );
    let oct = report(&env, &["--month", "2026-10"]);
    let nov = report(&env, &["--month", "2026-11"]);
    // Both pairs start on Oct 31 local: all km are October's; the second
    // pair's time is split at local midnight: 5 min to October, 20 to November.
    assert!(close(oct["effort"]["km"].as_f64().unwrap(), km(&pts)));
    assert!(close(oct["effort"]["hours"].as_f64().unwrap(), 20.0 / 60.0));
    assert!(close(nov["effort"]["hours"].as_f64().unwrap(), 20.0 / 60.0));
    assert_eq!(oct["effort"]["patrol_days"], 1);
    assert_eq!(oct["effort"]["person_days"], 4);
    // November has the last point (a patrol-day) but no km; and the snare (00:30 local).
    assert_eq!(nov["effort"]["km"], 0.0);
    assert_eq!(nov["effort"]["patrols"], 1);
    assert_eq!(nov["encounters"]["threats"], 1);
    assert_eq!(oct["encounters"]["threats"], 0);
    assert_eq!(oct["rates"]["threats_per_100km"], 0.0);
    assert_eq!(
        nov["rates"]["threats_per_100km"],
        Value::Null,
        "no km: no rate, never inf"
    );
    assert_eq!(oct["period"]["timezone"], "Asia/Bangkok");
}

#[test]
fn a_start_at_0530_on_the_first_is_in_that_month() {
    let env = Env::init();
    import(
        &env,
        "early.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-09-30T22:30:00Z")),
                (14.21, 102.1, Some("2026-09-30T23:00:00Z")),
            ],
            &[],
        ),
        &[],
    );
    assert_eq!(
        report(&env, &["--month", "2026-10"])["effort"]["patrols"],
        1
    );
    assert_eq!(
        report(&env, &["--month", "2026-09"])["effort"]["patrols"],
        0
    );
}

#[test]
fn a_nine_hour_pause_without_fixes_is_not_patrol_time() {
    let env = Env::init();
    import(
        &env,
        "camp.gpx",
        &gpx(
            &[
                (14.20, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.21, 102.1, Some("2026-10-04T01:20:00Z")),
                (14.21, 102.1, Some("2026-10-04T10:20:00Z")),
                (14.22, 102.1, Some("2026-10-04T10:40:00Z")),
            ],
            &[],
        ),
        &["--transport", "boat"],
    );
    let r = report(&env, &["--month", "2026-10"]);
    // Over the 2-hour pause limit: the unit was off, the nine hours are no
    // patrol time (docs/METRICS.md, "Hours").
    assert!(close(r["effort"]["hours"].as_f64().unwrap(), 40.0 / 60.0));
    assert!(close(
        r["effort"]["active_hours"].as_f64().unwrap(),
        40.0 / 60.0
    ));
    assert_eq!(r["effort"]["by_transport"]["boat"]["patrols"], 1);
}

#[test]
fn a_gpx_without_times_is_reported_undated_not_dropped() {
    let env = Env::init();
    let pts = [(14.2, 102.1), (14.3, 102.1)];
    let r = import(
        &env,
        "nt.gpx",
        &gpx(
            &[(pts[0].0, pts[0].1, None), (pts[1].0, pts[1].1, None)],
            &[],
        ),
        &[],
    );
    assert!(r["warnings"].to_string().contains("undated"));
    let rep = report(&env, &["--month", "2026-10"]);
    assert_eq!(rep["effort"]["km"], 0.0);
    assert!(close(rep["undated_km"].as_f64().unwrap(), km(&pts)));
}

#[test]
fn a_gpx_without_times_can_be_dated_by_hand() {
    let env = Env::init();
    let pts = [(14.2, 102.1), (14.3, 102.1)];
    let r = import(
        &env,
        "nt.gpx",
        &gpx(
            &[(pts[0].0, pts[0].1, None), (pts[1].0, pts[1].1, None)],
            &[(14.2, 102.1, "Snare", None)],
        ),
        &["--date", "2026-10-04"],
    );
    assert!(
        r["warnings"].to_string().contains("dated 2026-10-04"),
        "{r}"
    );
    let rep = report(&env, &["--month", "2026-10"]);
    assert!(close(rep["effort"]["km"].as_f64().unwrap(), km(&pts)));
    assert_eq!(rep["effort"]["patrol_days"], 1);
    assert_eq!(
        rep["encounters"]["threats"], 1,
        "its observation takes the patrol's date"
    );
    assert_eq!(rep["undated_km"], 0.0);
    // A date given for a file that has times changes nothing.
    import(
        &env,
        "t.gpx",
        &gpx(
            &[
                (14.2, 102.2, Some("2026-11-04T01:00:00Z")),
                (14.3, 102.2, Some("2026-11-04T02:00:00Z")),
            ],
            &[],
        ),
        &["--date", "2026-10-04"],
    );
    assert_eq!(
        report(&env, &["--month", "2026-10"])["effort"]["patrols"],
        1
    );
    assert_eq!(
        report(&env, &["--month", "2026-11"])["effort"]["patrols"],
        1
    );
}

#[test]
fn months_add_up_to_the_whole_range_and_breakdowns_to_totals() {
    let mut env = Env::new();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(env.path("demo"))
        .assert()
        .success();
    env.db = env.path("demo/thaplan.gpkg");
    let run = |args: &[&str]| -> Value {
        let out = env
            .cmd()
            .args(["report", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let whole = run(&["--from", "2025-10-01", "--to", "2026-10-31"]);
    let (mut km, mut threats, mut hours) = (0.0, 0, 0.0);
    for m in [
        "2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
        "2026-06", "2026-07", "2026-08", "2026-09", "2026-10",
    ] {
        let r = run(&["--month", m]);
        km += r["effort"]["km"].as_f64().unwrap();
        hours += r["effort"]["hours"].as_f64().unwrap();
        threats += r["encounters"]["threats"].as_u64().unwrap();
    }
    assert!(close(km, whole["effort"]["km"].as_f64().unwrap()), "{km}");
    assert!(close(hours, whole["effort"]["hours"].as_f64().unwrap()));
    assert_eq!(threats, whole["encounters"]["threats"].as_u64().unwrap());
    assert!(whole["effort"]["km"].as_f64().unwrap() > 300.0);
    let sum = |v: &Value, key: &str| -> f64 {
        v.as_object()
            .unwrap()
            .values()
            .map(|x| x[key].as_f64().unwrap())
            .sum()
    };
    assert!(close(
        sum(&whole["effort"]["by_transport"], "km"),
        whole["effort"]["km"].as_f64().unwrap()
    ));
    assert!(close(
        sum(&whole["effort"]["by_team"], "hours"),
        whole["effort"]["hours"].as_f64().unwrap()
    ));
    // The baseline comparison and the trend are there when asked.
    let oct = run(&[
        "--month",
        "2026-10",
        "--baseline",
        "2025-10..2026-03",
        "--months",
        "6",
    ]);
    assert!(
        oct["baseline"]["sentence"]
            .as_str()
            .unwrap()
            .starts_with("Threats per 100 km")
    );
    assert_eq!(oct["trend"].as_array().unwrap().len(), 6);
    // The demo has a boundary: coverage, and its km are the period's km.
    let cov = &oct["coverage"];
    assert!(cov["fraction"].as_f64().unwrap() > 0.0 && cov["fraction"].as_f64().unwrap() < 1.0);
    assert!(close(
        cov["km"].as_f64().unwrap(),
        oct["effort"]["km"].as_f64().unwrap()
    ));
}

#[test]
fn csv_and_text_and_bad_arguments() {
    let env = Env::init();
    import(
        &env,
        "a.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &[],
        ),
        &[],
    );
    env.cmd()
        .args(["report", "--month", "2026-10"])
        .assert()
        .success()
        .stdout(contains("Threats per 100 km"));
    env.cmd()
        .args(["report", "--month", "2026-10", "--format", "csv"])
        .assert()
        .success()
        .stdout(contains("km"));
    let dir = env.path("csv");
    env.cmd()
        .args([
            "report",
            "--month",
            "2026-10",
            "--format",
            "csv",
            "--out-dir",
        ])
        .arg(&dir)
        .assert()
        .success();
    assert!(dir.join("summary.csv").exists() && dir.join("by_transport.csv").exists());
    env.cmd()
        .args(["report"])
        .assert()
        .code(2)
        .stderr(contains("--month"));
    env.cmd()
        .args(["report", "--month", "2026-10", "--format", "pdf"])
        .assert()
        .code(2)
        .stderr(contains("pdf"));
    env.cmd()
        .args([
            "report",
            "--month",
            "2026-10",
            "--baseline",
            "2026-03..2025-10",
        ])
        .assert()
        .code(2)
        .stderr(contains("ends before"));
    env.cmd()
        .args(["report", "--month", "2026-10", "--site", "Nowhere"])
        .assert()
        .code(2)
        .stderr(contains("Thap Lan"));
}

#[test]
fn a_boundary_must_be_an_area() {
    let env = Env::init();
    let line = env.write(
        "line.geojson",
        r#"{"type":"LineString","coordinates":[[102,14],[103,15]]}"#,
    );
    env.cmd()
        .args(["site", "boundary", "set"])
        .arg(&line)
        .assert()
        .code(2)
        .stderr(contains("LineString"));
    let junk = env.write("junk.geojson", "not json");
    env.cmd()
        .args(["site", "boundary", "set"])
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(contains("junk.geojson"));
    let bad = env.write(
        "bad.geojson",
        r#"{"type":"Polygon","coordinates":[[[102,14],[103,95],[103,14],[102,14]]]}"#,
    );
    env.cmd()
        .args(["site", "boundary", "set"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains("latitude"));
    let ok = env.write(
        "ok.geojson",
        r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[102,14],[102.1,14],[102.1,14.1],[102,14.1],[102,14]]]}}"#,
    );
    env.cmd()
        .args(["site", "boundary", "set"])
        .arg(&ok)
        .assert()
        .success();
    import(
        &env,
        "a.gpx",
        &gpx(
            &[
                (14.05, 102.05, Some("2026-10-04T01:00:00Z")),
                (14.06, 102.05, Some("2026-10-04T03:00:00Z")),
            ],
            &[],
        ),
        &[],
    );
    let r = report(&env, &["--month", "2026-10", "--grid-m", "1000"]);
    // About 10.8 x 11.1 km: 11 or 12 cells a side; the track crosses 2 cells.
    let park = r["coverage"]["park_cells"].as_u64().unwrap();
    assert!((110..=160).contains(&park), "{park}");
    assert_eq!(r["coverage"]["visited_cells"], 2);
}

/// The HTML report, drawn by headless Chromium: it must not be blank. Where
/// Chromium is missing this test fails in CI (which installs it) and is skipped
/// elsewhere with a message.
#[test]
fn the_html_report_renders_in_a_browser() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (.ci/run installs it)"
        );
        eprintln!("skipped: no chromium here");
        return;
    };
    let env = Env::init();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(env.path("demo"))
        .assert()
        .success();
    let html = env.path("demo/report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("<svg") && !text.contains("<script"));
    let png = env.path("shot.png");
    let profile = env.path("chromium-profile");
    let status = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    // A blank white page of this size compresses to a few KB; the report's
    // text, tables and charts make it much larger.
    let size = std::fs::metadata(&png).unwrap().len();
    assert!(size > 40_000, "the screenshot looks blank ({size} bytes)");
}

#[test]
fn the_trend_counts_its_last_month_whole_when_the_period_ends_mid_month() {
    let env = Env::init();
    let early = [(14.2, 102.1), (14.3, 102.1)];
    let late = [(14.2, 102.2), (14.4, 102.2)];
    import(
        &env,
        "early.gpx",
        &gpx(
            &[
                (early[0].0, early[0].1, Some("2026-07-05T01:00:00Z")),
                (early[1].0, early[1].1, Some("2026-07-05T03:00:00Z")),
            ],
            &[(14.2, 102.1, "Snare", Some("2026-07-05T02:00:00Z"))],
        ),
        &[],
    );
    import(
        &env,
        "late.gpx",
        &gpx(
            &[
                (late[0].0, late[0].1, Some("2026-07-25T01:00:00Z")),
                (late[1].0, late[1].1, Some("2026-07-25T03:00:00Z")),
            ],
            &[(14.3, 102.2, "Snare", Some("2026-07-25T02:00:00Z"))],
        ),
        &[],
    );
    let r = report(
        &env,
        &[
            "--from",
            "2026-06-20",
            "--to",
            "2026-07-15",
            "--months",
            "2",
        ],
    );
    // The period is exactly the period...
    assert!(close(r["effort"]["km"].as_f64().unwrap(), km(&early)));
    assert_eq!(r["encounters"]["threats"], 1);
    // ...and the trend's months are whole calendar months.
    let t = r["trend"].as_array().unwrap();
    assert_eq!(t[1]["month"], "2026-07");
    assert!(close(t[1]["km"].as_f64().unwrap(), km(&early) + km(&late)));
    assert_eq!(t[1]["threats"], 2);
    assert_eq!(t[1]["patrol_days"], 2);
    assert_eq!(t[0]["month"], "2026-06");
    assert_eq!(t[0]["km"], 0.0);
}

/// A site database with a square boundary of `half` degrees around (lon, lat)
/// and one patrol along `track` (lat, lon) on 2026-10-04.
fn site_with_park(name: &str, zone: &str, (lon, lat): (f64, f64), track: &[(f64, f64)]) -> Env {
    let env = Env::new();
    env.cmd()
        .args(["init", "--site", name, "--timezone", zone])
        .assert()
        .success();
    let wrap = |x: f64| if x > 180.0 { x - 360.0 } else { x };
    let (w, e) = (wrap(lon - 0.1), wrap(lon + 0.1));
    let (s, n) = (lat - 0.1, lat + 0.1);
    let boundary = env.write(
        "park.geojson",
        &format!(
            r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#
        ),
    );
    env.cmd()
        .args(["site", "boundary", "set"])
        .arg(&boundary)
        .assert()
        .success();
    let points: Vec<(f64, f64, Option<&str>)> = track
        .iter()
        .zip([
            "2026-10-04T01:00:00Z",
            "2026-10-04T02:00:00Z",
            "2026-10-04T03:00:00Z",
        ])
        .map(|(&(la, lo), t)| (la, lo, Some(t)))
        .collect();
    import(&env, "p.gpx", &gpx(&points, &[]), &[]);
    env
}

#[test]
fn each_site_gets_its_own_grid_and_the_report_adds_them_up() {
    // One park in Thailand, one across 180° in Fiji, merged into a regional database.
    let thai = site_with_park(
        "Thap Lan",
        "Asia/Bangkok",
        (102.05, 14.05),
        &[(14.02, 102.02), (14.05, 102.05), (14.08, 102.06)],
    );
    let fiji = site_with_park(
        "Taveuni",
        "Pacific/Fiji",
        (180.0, -16.8),
        &[(-16.85, 179.95), (-16.8, -179.98), (-16.76, -179.95)],
    );
    let region = Env::new();
    region
        .cmd()
        .args(["init", "--site", "Region", "--timezone", "Asia/Bangkok"])
        .assert()
        .success();
    for (i, site) in [&thai, &fiji].into_iter().enumerate() {
        let out = region.path(&format!("export{i}.gpkg"));
        site.cmd()
            .arg("export")
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        region.cmd().arg("merge").arg(&out).assert().success();
    }
    let r = report(&region, &["--month", "2026-10"]);
    let by = r["by_site"].as_object().unwrap();
    for (id, site) in by {
        // A site is named as everywhere: site_id and site_name (name kept).
        assert_eq!(site["site_id"], id.as_str(), "{site}");
        assert_eq!(site["site_name"], site["name"], "{site}");
    }
    let cov = |name: &str| {
        by.values()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {r}"))["coverage"]
            .clone()
    };
    let (a, b) = (cov("Thap Lan"), cov("Taveuni"));
    for c in [&a, &b] {
        // 0.2° x 0.2° at 1 km: about 22 x 21 cells; the track visits some.
        let park = c["park_cells"].as_u64().unwrap();
        assert!((400..=600).contains(&park), "{c}");
        assert!(c["visited_cells"].as_u64().unwrap() >= 5, "{c}");
        assert!(c.get("cells").is_none());
    }
    assert!(a["projection"].as_str().unwrap().contains("+lon_0=102.05"));
    let lon_0 = b["projection"].as_str().unwrap();
    assert!(
        lon_0.contains("+lon_0=180") || lon_0.contains("+lon_0=-180"),
        "{lon_0}"
    );
    // The report's coverage is the sum; its cells say their site.
    let all = &r["coverage"];
    let sum = |k: &str| a[k].as_u64().unwrap() + b[k].as_u64().unwrap();
    assert_eq!(all["park_cells"].as_u64().unwrap(), sum("park_cells"));
    assert_eq!(all["visited_cells"].as_u64().unwrap(), sum("visited_cells"));
    assert!(close(
        all["km"].as_f64().unwrap(),
        a["km"].as_f64().unwrap() + b["km"].as_f64().unwrap()
    ));
    assert!(close(
        all["km"].as_f64().unwrap(),
        r["effort"]["km"].as_f64().unwrap()
    ));
    assert!(
        all["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["site_id"].is_string())
    );
}

#[test]
fn an_untimed_observation_on_a_patrol_dated_by_hand_counts_in_its_month() {
    let env = Env::init();
    let r = import(
        &env,
        "nt.gpx",
        &gpx(&[(14.2, 102.1, None), (14.3, 102.1, None)], &[]),
        &["--date", "2026-10-04"],
    );
    let patrol = r["patrol_id"].as_str().unwrap();
    // Recorded by hand, without a time: it takes the patrol's first track date.
    let (o, code) = env.json(&[
        "observe",
        "--patrol",
        patrol,
        "--category",
        "snare",
        "--at",
        "14.25,102.1",
        "--json",
    ]);
    assert_eq!(code, 0, "{o}");
    for args in [
        &["--month", "2026-10"][..],
        &["--from", "2026-10-04", "--to", "2026-10-04"][..],
    ] {
        let rep = report(&env, args);
        assert_eq!(rep["encounters"]["threats"], 1, "{args:?}: {rep}");
        assert_eq!(rep["undated_observations"], 0);
    }
    for month in ["2026-09", "2026-11"] {
        assert_eq!(
            report(&env, &["--month", month])["encounters"]["observations"],
            0
        );
    }
    // In a trend and a baseline too.
    let rep = report(
        &env,
        &[
            "--month",
            "2026-11",
            "--months",
            "2",
            "--baseline",
            "2026-10..2026-10",
        ],
    );
    assert_eq!(rep["trend"][0]["threats"], 1, "{rep}");
    assert_eq!(rep["baseline"]["encounters"]["threats"], 1);
}

#[test]
fn waypoint_serials_are_dropped_after_a_space_dash_underscore_or_hash() {
    let env = Env::init();
    let names = [
        "Snare12",
        "Snare #4",
        "snare-3",
        "Snare_2",
        "SNARE 7",
        "Wire snare #10",
    ];
    let waypoints: Vec<(f64, f64, &str, Option<&str>)> = names
        .iter()
        .map(|n| (14.25, 102.1, *n, Some("2026-10-04T02:00:00Z")))
        .collect();
    let r = import(
        &env,
        "w.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &waypoints,
        ),
        &[],
    );
    let (shown, _) = env.json(&["show", "--json", r["patrol_id"].as_str().unwrap()]);
    for o in shown["observations"].as_array().unwrap() {
        assert_eq!(o["category"], "snare", "{}", o["raw_name"]);
    }
    let rep = report(&env, &["--month", "2026-10"]);
    assert_eq!(rep["encounters"]["by_category"]["snare"], names.len());
}

#[test]
fn reports_name_the_site_and_show_category_labels() {
    let env = Env::init();
    import(
        &env,
        "c.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &[(14.25, 102.1, "Hunting camp", Some("2026-10-04T02:00:00Z"))],
        ),
        &[],
    );
    let html = env.path("r.html");
    env.cmd()
        .args(["report", "--month", "2026-10", "--format", "html", "--out"])
        .arg(&html)
        .assert()
        .success();
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("<title>Thap Lan: patrol report 2026-10-01 to 2026-10-31</title>"));
    assert!(h.contains("<td>Poacher camp</td>") && !h.contains("poacher_camp"));
    env.cmd()
        .args(["report", "--month", "2026-10"])
        .assert()
        .success()
        .stdout(contains("Thap Lan\n"))
        .stdout(contains("  Poacher camp "));
    let r = report(&env, &["--month", "2026-10"]);
    assert_eq!(r["encounters"]["by_category"]["poacher_camp"], 1);
    assert_eq!(r["category_labels"]["poacher_camp"], "Poacher camp");
    assert_eq!(r["period"]["sites"][0]["site_name"], "Thap Lan");
}

#[test]
fn the_report_read_on_two_connections_is_the_one_read_on_one() {
    // `patrol report` reads the facts on a second connection while it
    // reads the track lines; built here on one connection, one after the
    // other, the demo's report (boundary, grid, map, baseline, trend,
    // quality warnings) must be the same, figure for figure.
    use patrol_core::metrics::{Period, build_report_streamed};
    use patrol_store::{Store, query::ReportQuery};
    let env = Env::new();
    let demo = env.path("demo");
    env.cmd()
        .args(["demo", "--dir"])
        .arg(&demo)
        .assert()
        .success();
    let db = demo.join("thaplan.gpkg");
    let d = |s: &str| s.parse().unwrap();
    let cases = [
        (
            ("2026-10-01", "2026-10-31"),
            Some(("2025-10-01", "2026-03-31")),
            Some(6),
        ),
        (("2025-01-01", "2026-12-31"), None, None),
    ];
    for ((from, to), baseline, months) in cases {
        let query = ReportQuery {
            period: Period {
                from: d(from),
                to: d(to),
            },
            baseline: baseline.map(|(f, t)| Period {
                from: d(f),
                to: d(t),
            }),
            months,
            site: None,
            grid_m: 1000.0,
        };
        let store = Store::open_read_only(&db).unwrap();
        let serial = store
            .reading(|| {
                let input = store.report_facts(&query)?;
                build_report_streamed(&input, |add| store.each_report_line(&query, add))
            })
            .unwrap();
        let mut args = vec![
            "--db".to_owned(),
            db.display().to_string(),
            "report".to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
            "--from".to_owned(),
            from.to_owned(),
            "--to".to_owned(),
            to.to_owned(),
        ];
        if let Some((f, t)) = baseline {
            args.extend(["--baseline".to_owned(), format!("{f}..{t}")]);
        }
        if let Some(n) = months {
            args.extend(["--months".to_owned(), n.to_string()]);
        }
        let out = assert_cmd::Command::cargo_bin("patrol")
            .unwrap()
            .args(&args)
            .env_remove("PATROL_DB")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(serial.effort.km > 0.0, "the demo has km in {from}..{to}");
        // Byte for byte: parsed back, a float may move by an ulp.
        let serial = patrol_report::json::render(&serial);
        assert!(
            String::from_utf8_lossy(&out.stdout) == serial,
            "{from}..{to}: the CLI's JSON is not the serial report's"
        );
    }
}
