//! Fixing mistakes in the field: every edit and delete adds a version.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Env, gpx};

#[test]
fn edits_and_deletes_change_what_is_shown_and_keep_the_history() {
    let env = Env::init();
    let f = env.write(
        "p.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &[(14.2, 102.1, "Dung", Some("2026-10-04T01:30:00Z"))],
        ),
    );
    let (r, _) = env.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    let obs = shown["observations"][0]["observation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(shown["observations"][0]["category"], "wildlife_sign");

    // The ranger meant a snare.
    env.cmd()
        .args([
            "edit",
            "observation",
            &obs,
            "--category",
            "snare",
            "--note",
            "fixed",
        ])
        .assert()
        .success();
    env.cmd()
        .args([
            "edit",
            "patrol",
            &patrol,
            "--team",
            "Bravo",
            "--transport",
            "motorbike",
            "--headcount",
            "2",
        ])
        .assert()
        .success();
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    assert_eq!(shown["observations"][0]["category"], "snare");
    assert_eq!(shown["observations"][0]["note"], "fixed");
    assert_eq!(shown["team"], "Bravo");
    assert_eq!(shown["legs"][0]["transport"], "motorbike");
    assert_eq!(shown["legs"][0]["members"], 2);
    let (rep, _) = env.json(&["report", "--month", "2026-10", "--format", "json"]);
    assert_eq!(rep["encounters"]["threats"], 1);
    assert_eq!(rep["effort"]["person_days"], 2);
    assert!(rep["effort"]["by_team"]["Bravo"].is_object());

    // Delete the observation, then the patrol: gone from every view, kept as history.
    env.cmd()
        .args(["delete", "observation", &obs])
        .assert()
        .success();
    env.cmd()
        .args(["delete", "observation", &obs])
        .assert()
        .code(2)
        .stderr(contains("already deleted"));
    env.cmd()
        .args(["edit", "observation", &obs, "--note", "x"])
        .assert()
        .code(2)
        .stderr(contains("deleted"));
    let (rep, _) = env.json(&["report", "--month", "2026-10", "--format", "json"]);
    assert_eq!(rep["encounters"]["observations"], 0);
    env.cmd()
        .args(["delete", "patrol", &patrol])
        .assert()
        .success();
    let (list, _) = env.json(&["patrols", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 0);
    let (rep, _) = env.json(&["report", "--month", "2026-10", "--format", "json"]);
    assert_eq!(rep["effort"]["km"], 0.0);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let versions: i64 = conn
        .query_row("SELECT count(*) FROM observation_versions", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(versions, 3, "created, edited, deleted: all kept");
    // The same file again is still a duplicate: deleting does not invite a re-import.
    let (again, _) = env.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    assert_eq!(again[0]["status"], "duplicate");
}

/// The `observations` layer's extent in gpkg_contents: (min_x, min_y, max_x, max_y).
fn observations_extent(env: &Env) -> [Option<f64>; 4] {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.query_row(
        "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'observations'",
        [],
        |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
    )
    .unwrap()
}

#[test]
fn observe_and_a_moved_observation_widen_the_layer_extent() {
    let env = Env::init();
    let f = env.write(
        "p.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &[],
        ),
    );
    let (r, _) = env.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    // A point east and north of everything so far: QGIS's "zoom to layer" must see it.
    let (o, code) = env.json(&[
        "observe",
        "--patrol",
        &patrol,
        "--category",
        "snare",
        "--at",
        "14.9,102.7",
        "--json",
    ]);
    assert_eq!(code, 0, "{o}");
    let [min_x, min_y, max_x, max_y] = observations_extent(&env);
    assert!(
        max_x.unwrap() >= 102.7 && max_y.unwrap() >= 14.9,
        "{max_x:?} {max_y:?}"
    );
    assert!(min_x.unwrap() <= 102.7 && min_y.unwrap() <= 14.9);
    // Moving it south-west widens the extent that way too (and keeps the old corner).
    let obs = o["observation_id"].as_str().unwrap();
    env.cmd()
        .args(["edit", "observation", obs, "--at", "13.5,101.5"])
        .assert()
        .success();
    let [min_x, min_y, max_x, max_y] = observations_extent(&env);
    assert!(
        min_x.unwrap() <= 101.5 && min_y.unwrap() <= 13.5,
        "{min_x:?} {min_y:?}"
    );
    assert!(max_x.unwrap() >= 102.7 && max_y.unwrap() >= 14.9);
}

/// Versions of a kind in the database.
fn versions(env: &Env, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// A patrol with one observation (a snare): (patrol id, observation id).
fn patrol_with_a_snare(env: &Env, name: &str, lat: f64) -> (String, String) {
    let f = env.write(
        name,
        &gpx(
            &[
                (lat, 102.1, Some("2026-10-04T01:00:00Z")),
                (lat + 0.1, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &[(lat, 102.1, "Snare", Some("2026-10-04T01:30:00Z"))],
        ),
    );
    let (r, code) = env.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    let obs = shown["observations"][0]["observation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (patrol, obs)
}

#[test]
fn an_edit_that_changes_nothing_adds_no_version() {
    let env = Env::init();
    let (patrol, obs) = patrol_with_a_snare(&env, "p.gpx", 14.2);
    let (obs_before, patrol_before, legs_before) = (
        versions(&env, "observation_versions"),
        versions(&env, "patrol_versions"),
        versions(&env, "leg_versions"),
    );
    let head = |env: &Env, table: &str, col: &str, id: &str| -> String {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.query_row(
            &format!("SELECT version_id FROM {table} WHERE {col} = ?1"),
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let obs_head = head(&env, "observations", "observation_id", &obs);
    let out = env
        .cmd()
        .args(["edit", "observation", &obs, "--category", "snare"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), obs_head);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing changed"));
    let patrol_head = head(&env, "patrols", "patrol_id", &patrol);
    env.cmd()
        .args([
            "edit",
            "patrol",
            &patrol,
            "--team",
            "Alpha",
            "--transport",
            "foot",
            "--headcount",
            "1",
        ])
        .assert()
        .success()
        .stdout(format!("{patrol_head}\n"))
        .stderr(contains("nothing changed"));
    assert_eq!(versions(&env, "observation_versions"), obs_before);
    assert_eq!(versions(&env, "patrol_versions"), patrol_before);
    assert_eq!(versions(&env, "leg_versions"), legs_before);
    // A real change still makes a version.
    env.cmd()
        .args(["edit", "patrol", &patrol, "--team", "Bravo"])
        .assert()
        .success()
        .stderr(contains("nothing changed").not());
    assert_eq!(versions(&env, "patrol_versions"), patrol_before + 1);
}

#[test]
fn an_observation_moves_to_another_live_patrol() {
    let env = Env::init();
    let (first, obs) = patrol_with_a_snare(&env, "a.gpx", 14.2);
    let (second, _) = patrol_with_a_snare(&env, "b.gpx", 14.5);
    env.cmd()
        .args(["edit", "observation", &obs, "--patrol", &second])
        .assert()
        .success();
    let ids = |patrol: &str| -> Vec<String> {
        let (shown, _) = env.json(&["show", "--json", patrol]);
        shown["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["observation_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!ids(&first).contains(&obs));
    assert!(ids(&second).contains(&obs));
    // Moving it where it is changes nothing.
    env.cmd()
        .args(["edit", "observation", &obs, "--patrol", &second])
        .assert()
        .success()
        .stderr(contains("nothing changed"));
    // The patrol must exist and be live.
    env.cmd()
        .args(["edit", "observation", &obs, "--patrol", "ffffffff"])
        .assert()
        .code(2)
        .stderr(contains("no patrol"));
    env.cmd()
        .args(["delete", "patrol", &first])
        .assert()
        .success();
    env.cmd()
        .args(["edit", "observation", &obs, "--patrol", &first])
        .assert()
        .code(2)
        .stderr(contains("deleted"));
    assert!(ids(&second).contains(&obs));
}

#[test]
fn a_deleted_patrol_or_observation_is_restored() {
    let env = Env::init();
    let (patrol, obs) = patrol_with_a_snare(&env, "p.gpx", 14.2);
    let threats = || {
        let (rep, _) = env.json(&["report", "--month", "2026-10", "--format", "json"]);
        (
            rep["encounters"]["threats"].as_u64().unwrap(),
            rep["effort"]["km"].as_f64().unwrap(),
        )
    };
    let (_, km) = threats();
    assert_eq!(threats(), (1, km));
    env.cmd()
        .args(["restore", "observation", &obs])
        .assert()
        .code(2)
        .stderr(contains("not deleted"));
    env.cmd()
        .args(["delete", "observation", &obs])
        .assert()
        .success();
    assert_eq!(threats().0, 0);
    env.cmd()
        .args(["restore", "observation", &obs])
        .assert()
        .success();
    assert_eq!(threats(), (1, km));
    // Created, deleted, restored: the history is all there.
    assert_eq!(versions(&env, "observation_versions"), 3);
    env.cmd()
        .args(["delete", "patrol", &patrol])
        .assert()
        .success();
    assert_eq!(threats(), (0, 0.0));
    env.cmd()
        .args(["show", &patrol])
        .assert()
        .code(2)
        .stderr(contains("deleted"));
    env.cmd()
        .args(["restore", "patrol", &patrol])
        .assert()
        .success();
    assert_eq!(threats(), (1, km));
    let (list, _) = env.json(&["patrols", "--json"]);
    assert_eq!(list[0]["patrol_id"], patrol.as_str());
    assert_eq!(list[0]["team"], "Alpha");
    env.cmd()
        .args(["restore", "patrol", &patrol])
        .assert()
        .code(2)
        .stderr(contains("not deleted"));
}

#[test]
fn short_ids_are_shown_and_accepted_everywhere() {
    let env = Env::init();
    let names: Vec<String> = (1..=30).map(|i| format!("Snare {i}")).collect();
    let waypoints: Vec<(f64, f64, &str, Option<&str>)> = names
        .iter()
        .map(|n| (14.2, 102.1, n.as_str(), Some("2026-10-04T01:30:00Z")))
        .collect();
    let f = env.write(
        "p.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &waypoints,
        ),
    );
    let (r, _) = env.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let (other, _) = patrol_with_a_snare(&env, "q.gpx", 14.5);
    let short = |id: &str| id[id.len() - 8..].to_owned();

    // JSON keeps the ids and adds short_id beside them.
    let (list, _) = env.json(&["patrols", "--json"]);
    assert_eq!(list[0]["patrol_id"], patrol.as_str());
    assert_eq!(list[0]["short_id"], short(&patrol).as_str());
    let (shown, _) = env.json(&["show", "--json", &short(&patrol)]);
    assert_eq!(shown["patrol_id"], patrol.as_str());
    let obs = shown["observations"].as_array().unwrap();
    assert_eq!(obs.len(), 30);
    let mut shorts: Vec<&str> = obs
        .iter()
        .map(|o| o["short_id"].as_str().unwrap())
        .collect();
    for o in obs {
        assert_eq!(
            o["short_id"].as_str().unwrap(),
            short(o["observation_id"].as_str().unwrap())
        );
    }
    shorts.sort_unstable();
    shorts.dedup();
    assert_eq!(
        shorts.len(),
        30,
        "one import's observations have distinct short ids"
    );
    assert_eq!(shown["legs"][0]["short_id"].as_str().unwrap().len(), 8);

    // Tables and messages show the short id.
    let out = env.cmd().args(["patrols"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&short(&patrol)) && !text.contains(&patrol),
        "{text}"
    );
    let out = env.cmd().args(["show", &patrol]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = obs[0]["observation_id"].as_str().unwrap();
    assert!(
        text.contains(&short(first)) && !text.contains(first),
        "{text}"
    );

    // Every command takes the short id (or 6 of its last digits).
    let o = short(first);
    env.cmd()
        .args(["edit", "observation", &o[2..], "--note", "cut"])
        .assert()
        .success()
        .stderr(contains(format!("edited observation {o}")));
    env.cmd()
        .args(["delete", "observation", &o])
        .assert()
        .success()
        .stderr(contains(format!("deleted observation {o}")));
    env.cmd()
        .args(["restore", "observation", &o])
        .assert()
        .success()
        .stderr(contains(format!("restored observation {o}")));
    let (rec, code) = env.json(&[
        "observe",
        "--patrol",
        &short(&other),
        "--category",
        "snare",
        "--at",
        "14.5,102.1",
        "--json",
    ]);
    assert_eq!(code, 0, "{rec}");
    assert_eq!(rec["patrol_id"], other.as_str());
    let new = rec["observation_id"].as_str().unwrap();
    assert_eq!(rec["short_id"], short(new).as_str());
    env.cmd()
        .args([
            "edit",
            "observation",
            &short(new),
            "--patrol",
            &short(&patrol),
        ])
        .assert()
        .success();

    // Ambiguous: the first characters of two patrols made the same month.
    assert_eq!(patrol[..4], other[..4]);
    env.cmd()
        .args(["show", &patrol[..4]])
        .assert()
        .code(2)
        .stderr(contains("matches several patrols"));
    env.cmd()
        .args(["show", &patrol[..3]])
        .assert()
        .code(2)
        .stderr(contains("at least 4"));
}

/// A leg edited on two devices: `conflicts resolve` takes a prefix its
/// patrol shares (a patrol and its leg are made in the same millisecond),
/// a version prefix in any case, and prints JSON.
#[test]
fn conflicts_resolve_finds_the_conflicting_record_and_prints_json() {
    let central = Env::init();
    let outpost = Env::new();
    outpost
        .cmd()
        .arg("init")
        .arg("--join")
        .arg(&central.db)
        .assert()
        .success();
    let f = central.write(
        "p.gpx",
        &gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.21, 102.1, Some("2026-10-04T02:00:00Z")),
            ],
            &[],
        ),
    );
    let (r, code) = central.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let export = central.path("c.out");
    central
        .cmd()
        .arg("export")
        .arg("--out")
        .arg(&export)
        .assert()
        .success();
    outpost.cmd().arg("merge").arg(&export).assert().success();
    for (env, transport) in [(&central, "vehicle"), (&outpost, "boat")] {
        env.cmd()
            .args(["edit", "patrol", &patrol, "--transport", transport])
            .assert()
            .success();
    }
    let back = outpost.path("o.out");
    outpost
        .cmd()
        .arg("export")
        .arg("--out")
        .arg(&back)
        .assert()
        .success();
    central.cmd().arg("merge").arg(&back).assert().success();
    let (c, _) = central.json(&["conflicts", "--json"]);
    let list = c.as_array().unwrap();
    assert_eq!(list.len(), 1, "{c}");
    assert_eq!(list[0]["kind"], "leg");
    let leg = list[0]["record_id"].as_str().unwrap().to_owned();
    // Made in the same millisecond, they share 27 characters; 4 are the
    // same for 49 days.
    let shared = leg
        .chars()
        .zip(patrol.chars())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(shared >= 4, "{leg} {patrol}");
    let keep = list[0]["heads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["summary"].as_str().unwrap().contains("boat"))
        .expect("the boat head")["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A version prefix that no head begins with is refused, naming the heads.
    central
        .cmd()
        .args(["conflicts", "resolve", &leg, "--keep", "ffff"])
        .assert()
        .code(2)
        .stderr(contains("is not a head").and(contains(&keep)));
    // Before, the shared prefix "matches a patrol and a leg".
    let (done, code) = central.json(&[
        "conflicts",
        "resolve",
        &leg[..shared],
        "--keep",
        &keep[..30].to_uppercase(),
        "--json",
    ]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(done["kind"], "leg");
    assert_eq!(done["record_id"], leg.as_str());
    assert_eq!(done["short_id"], &leg[leg.len() - 8..]);
    assert_eq!(done["kept_version_id"], keep.as_str());
    assert!(done["version_id"].is_string());
    let (c, _) = central.json(&["conflicts", "--json"]);
    assert_eq!(c.as_array().unwrap().len(), 0);
    let (shown, _) = central.json(&["show", "--json", &patrol]);
    assert_eq!(shown["legs"][0]["transport"], "boat");
}
