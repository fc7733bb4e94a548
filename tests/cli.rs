//! init, observe, show, patrols, check, demo: what a ranger types.

use predicates::str::contains;

use crate::util::{Env, data, gpx, sample};

#[test]
fn init_refuses_to_overwrite_and_checks_the_time_zone() {
    let env = Env::init();
    env.cmd()
        .args(["init", "--site", "X", "--timezone", "Asia/Bangkok"])
        .assert()
        .code(2)
        .stderr(contains("already there"));
    let other = Env::new();
    other
        .cmd()
        .args(["init", "--site", "X", "--timezone", "Mars/Olympus"])
        .assert()
        .code(2)
        .stderr(contains("Mars/Olympus"));
    assert!(!other.db.exists(), "no half-made database");
}

#[test]
fn a_missing_or_foreign_database_is_a_clear_error() {
    let env = Env::new();
    env.cmd()
        .args(["patrols"])
        .assert()
        .code(2)
        .stderr(contains("no such database"));
    std::fs::write(
        &env.db,
        b"this is not sqlite at all, just a text file pretending",
    )
    .unwrap();
    env.cmd()
        .args(["patrols"])
        .assert()
        .code(2)
        .stderr(contains("patrol.gpkg"));
}

#[test]
fn the_database_is_a_geopackage() {
    let env = Env::init();
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    let user: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x4750_4B47);
    assert_eq!(user, 10300);
    let srs: Vec<i64> = conn
        .prepare("SELECT srs_id FROM gpkg_spatial_ref_sys ORDER BY srs_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(srs, [-1, 0, 4326]);
    let layers: Vec<(String, String)> = conn
        .prepare("SELECT table_name, data_type FROM gpkg_contents ORDER BY table_name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(layers.contains(&("tracks".into(), "features".into())));
    assert!(layers.contains(&("observations".into(), "features".into())));
    assert!(layers.contains(&("patrols".into(), "attributes".into())));
}

#[test]
fn observe_then_show_then_check() {
    let env = Env::init();
    let f = env.write(
        "p.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.21, 102.1, Some("2026-10-04T02:00:00Z")),
            ],
            &[],
        ),
    );
    let (r, _) = env.json(&[
        "import",
        "--team",
        "Alpha",
        "--transport",
        "foot",
        "--headcount",
        "4",
        "--json",
        f.to_str().unwrap(),
    ]);
    let id = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let short = &id[..13];
    let (o, code) = env.json(&[
        "observe",
        "--patrol",
        short,
        "--category",
        "Wire snare",
        "--at",
        "14.21,102.18",
        "--time",
        "2026-10-04T08:15:00+07:00",
        "--note",
        "3 wire snares",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(o["category"], "snare");
    let (shown, _) = env.json(&["show", "--json", &id]);
    let obs = &shown["observations"][0];
    assert_eq!(obs["category"], "snare");
    assert_eq!(obs["threat"], true);
    assert_eq!(obs["time"], "2026-10-04T01:15:00Z");
    assert_eq!(obs["note"], "3 wire snares");
    assert_eq!(shown["team"], "Alpha");
    assert_eq!(shown["members"], 4);
    // The text form shows the same.
    env.cmd()
        .args(["show", &id])
        .assert()
        .success()
        .stdout(contains("3 wire snares"))
        .stdout(contains("Alpha"));
    // Bad observations are refused with the reason.
    env.cmd()
        .args([
            "observe",
            "--patrol",
            &id,
            "--category",
            "unicorn",
            "--at",
            "14,102",
        ])
        .assert()
        .code(2)
        .stderr(contains("unicorn"));
    env.cmd()
        .args([
            "observe",
            "--patrol",
            &id,
            "--category",
            "snare",
            "--at",
            "95,102",
        ])
        .assert()
        .code(2)
        .stderr(contains("latitude"));
    env.cmd()
        .args([
            "observe",
            "--patrol",
            "ffffffff",
            "--category",
            "snare",
            "--at",
            "14,102",
        ])
        .assert()
        .code(2)
        .stderr(contains("no patrol"));
    let (check, code) = env.json(&["check", "--json"]);
    assert_eq!(code, 0, "{check}");
    assert!(
        check
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "problem")
    );
}

#[test]
fn patrols_by_month_are_local_months() {
    let env = Env::init();
    // 23:50 to 00:10 Bangkok time across the end of October: in both months.
    let f = env.write(
        "midnight.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-31T16:50:00Z")),
                (14.21, 102.1, Some("2026-10-31T17:10:00Z")),
            ],
            &[],
        ),
    );
    env.cmd()
        .args(["import", "--team", "A"])
        .arg(&f)
        .assert()
        .success();
    for (month, n) in [
        ("2026-10", 1),
        ("2026-11", 1),
        ("2026-09", 0),
        ("2026-12", 0),
    ] {
        let (list, _) = env.json(&["patrols", "--json", "--month", month]);
        assert_eq!(list.as_array().unwrap().len(), n, "{month}");
    }
    env.cmd()
        .args(["patrols", "--month", "2026-13"])
        .assert()
        .code(2)
        .stderr(contains("2026-13"));
}

#[test]
fn data_goes_to_stdout_and_messages_to_stderr() {
    let env = Env::init();
    let out = env
        .cmd()
        .args(["import", "--team", "A", "--json"])
        .arg(data("gpxpy/Mojstrovka.gpx"))
        .output()
        .unwrap();
    let _: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('{'), "{err}");
}

#[test]
fn a_custom_data_model_is_used() {
    let env = Env::new();
    let model = env.write(
        "model.toml",
        "[[category]]\nkey='elephant'\nlabel='Elephant'\nthreat=false\naliases=['ele']\n[[category]]\nkey='other'\nlabel='Other'\nthreat=false\n",
    );
    env.cmd()
        .args([
            "init",
            "--site",
            "S",
            "--timezone",
            "Africa/Nairobi",
            "--data-model",
        ])
        .arg(&model)
        .assert()
        .success();
    let f = env.write(
        "e.gpx",
        &gpx(
            &[(0.1, 37.0, None)],
            &[(0.1, 37.0, "Ele 4", None), (0.1, 37.0, "Snare", None)],
        ),
    );
    let (r, _) = env.json(&["import", "--team", "A", "--json", f.to_str().unwrap()]);
    let (shown, _) = env.json(&["show", "--json", r[0]["patrol_id"].as_str().unwrap()]);
    let mut cats: Vec<&str> = shown["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["category"].as_str().unwrap())
        .collect();
    cats.sort_unstable();
    assert_eq!(cats, ["elephant", "other"]);
    let bad = env.write(
        "bad.toml",
        "[[category]]\nkey='a'\nlabel='A'\nthreat=true\n",
    );
    let other = Env::new();
    other
        .cmd()
        .args(["init", "--site", "S", "--timezone", "UTC", "--data-model"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains("other"));
}

#[test]
fn the_shipped_samples_import_and_the_demo_runs() {
    let env = Env::init();
    let a = sample("outpost-a/2026-10-31-alpha-foot.gpx");
    let (r, code) = env.json(&["import", "--team", "Alpha", "--json", a.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(r[0]["observations"], 2);
    let demo = env.path("demo");
    env.cmd()
        .args(["demo", "--dir"])
        .arg(&demo)
        .assert()
        .success()
        .stdout(contains("Alpha"));
    assert!(demo.join("thaplan.gpkg").exists());
}

/// A patrol imported from a small timed track (or an untimed one): its id.
fn import_one(env: &Env, name: &str, timed: bool) -> String {
    let t = |s: &'static str| if timed { Some(s) } else { None };
    let f = env.write(
        name,
        &gpx(
            &[
                (14.2, 102.1, t("2026-10-04T01:00:00Z")),
                (14.21, 102.1, t("2026-10-04T02:00:00Z")),
            ],
            &[(14.2, 102.1, "Snare", t("2026-10-04T01:30:00Z"))],
        ),
    );
    let (r, code) = env.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    r[0]["patrol_id"].as_str().unwrap().to_owned()
}

#[test]
fn renamed_flags_keep_their_old_spelling_hidden() {
    let env = Env::init();
    let f = env.write(
        "a.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.21, 102.1, Some("2026-10-04T02:00:00Z")),
            ],
            &[],
        ),
    );
    // `--members` (the old spelling of --headcount) still works.
    let (r, code) = env.json(&[
        "import",
        "--team",
        "Alpha",
        "--members",
        "3",
        "--member",
        "Somchai",
        "--json",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{r}");
    let id = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let (shown, _) = env.json(&["show", "--json", &id]);
    assert_eq!(shown["members"], 3);
    env.cmd()
        .args(["edit", "patrol", &id, "--headcount", "5"])
        .assert()
        .success();
    env.cmd()
        .args(["edit", "patrol", &id, "--members", "6"])
        .assert()
        .success();
    let (shown, _) = env.json(&["show", "--json", &id]);
    assert_eq!(shown["members"], 6);
    // `--months` (the old spelling of --trend-months) gives the same report.
    let (new, _) = env.json(&[
        "report",
        "--month",
        "2026-10",
        "--trend-months",
        "3",
        "--json",
    ]);
    let (old, _) = env.json(&[
        "report", "--month", "2026-10", "--months", "3", "--format", "json",
    ]);
    assert_eq!(new["trend"], old["trend"]);
    assert_eq!(new["trend"].as_array().unwrap().len(), 3);
    // The old spellings are not shown.
    for (cmd, old, new) in [
        ("import", "--members <", "--headcount <N>"),
        ("report", "--months <", "--trend-months <N>"),
    ] {
        let out = env.cmd().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(new) && !help.contains(old), "{help}");
    }
    // --json is --format json; both at once is refused.
    env.cmd()
        .args(["report", "--month", "2026-10", "--json", "--format", "csv"])
        .assert()
        .code(2);
}

#[test]
fn every_command_that_changes_a_record_prints_json() {
    let env = Env::init();
    let patrol = import_one(&env, "a.gpx", true);
    let (e, code) = env.json(&["edit", "patrol", &patrol, "--team", "Bravo", "--json"]);
    assert_eq!(code, 0, "{e}");
    assert_eq!(e["kind"], "patrol");
    assert_eq!(e["record_id"], patrol.as_str());
    assert_eq!(e["short_id"], &patrol[patrol.len() - 8..]);
    assert_eq!(e["changed"], true);
    let version = e["version_id"].as_str().unwrap().to_owned();
    // The same edit again changes nothing: the head's version.
    let (e, _) = env.json(&["edit", "--json", "patrol", &patrol, "--team", "Bravo"]);
    assert_eq!(e["changed"], false);
    assert_eq!(e["version_id"], version.as_str());
    let (d, code) = env.json(&["delete", "patrol", &patrol, "--json"]);
    assert_eq!(code, 0, "{d}");
    assert_eq!(d["record_id"], patrol.as_str());
    assert_ne!(d["version_id"], version.as_str());
    let (r, code) = env.json(&["restore", "patrol", &patrol, "--json"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["kind"], "patrol");
    assert!(r["version_id"].is_string());
}

#[test]
fn json_names_a_site_and_a_file_the_same_way_everywhere() {
    let env = Env::init();
    let timed = import_one(&env, "timed.gpx", true);
    let untimed = import_one(&env, "untimed.gpx", false);
    let (list, _) = env.json(&["patrols", "--json"]);
    for p in list.as_array().unwrap() {
        // The old names stay; the consistent ones are added.
        assert_eq!(p["site"], "Thap Lan");
        assert_eq!(p["site_name"], "Thap Lan");
        assert!(p["site_id"].as_str().is_some_and(|s| s.len() == 36), "{p}");
        assert_eq!(p["file"], p["source_file"]);
    }
    let (shown, _) = env.json(&["show", "--json", &timed]);
    assert_eq!(shown["file"], "timed.gpx");
    assert_eq!(shown["days"][0]["date"], "2026-10-04");
    let (shown, _) = env.json(&["show", "--json", &untimed]);
    assert!(shown["days"][0]["date"].is_null(), "{shown}");
    // The text still says so in words.
    env.cmd()
        .args(["show", &untimed])
        .assert()
        .success()
        .stdout(contains("(undated)"));
}

/// Two sites of one name in a central database: each patrol says its own
/// site's id.
#[test]
fn site_ids_are_right_when_two_sites_share_a_name() {
    let central = Env::init();
    let other = Env::init();
    let here = import_one(&central, "here.gpx", true);
    let there = import_one(&other, "there.gpx", true);
    let out = other.path("other.out");
    other
        .cmd()
        .arg("export")
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    central.cmd().arg("merge").arg(&out).assert().success();
    let site_of = |env: &Env, id: &str| {
        let (shown, _) = env.json(&["show", "--json", id]);
        shown["site_id"].as_str().unwrap().to_owned()
    };
    let (a, b) = (site_of(&central, &here), site_of(&central, &there));
    assert_ne!(a, b);
    assert_eq!(b, site_of(&other, &there));
    let (list, _) = central.json(&["patrols", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for p in list {
        assert_eq!(p["site_name"], "Thap Lan");
        let want = if p["patrol_id"] == here.as_str() {
            &a
        } else {
            &b
        };
        assert_eq!(p["site_id"], want.as_str(), "{p}");
    }
}

#[test]
fn completions_and_the_manual_come_from_the_grammar() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = env.cmd().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in ["import", "report", "conflicts", "quarantine", "completions"] {
            assert!(text.contains(sub), "{shell} lacks {sub}");
        }
        assert!(text.contains("trend-months"), "{shell}");
    }
    env.cmd().args(["completions", "tcsh"]).assert().code(2);
    let out = env.cmd().arg("man").output().unwrap();
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH patrol 1"),
        "{man}"
    );
    for sub in [
        "patrol import",
        "patrol report",
        "patrol conflicts resolve",
        "patrol site boundary set",
        "patrol quarantine drop",
    ] {
        assert!(man.contains(&format!(".SS {sub}")), "man lacks {sub}");
    }
    assert!(man.contains("\\-\\-trend\\-months"), "{man}");
}
