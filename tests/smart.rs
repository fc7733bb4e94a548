//! SMART patrol XML in and out: each dialect imported and compared figure by
//! figure with an independent reading of the file; refusals; duplicates; our
//! export validated against SMART's schema and imported again.

use std::path::{Path, PathBuf};

use geo::{Distance, Geodesic, Point};
use serde_json::Value;

use crate::util::Env;

const DIALECTS: [&str; 3] = ["patrol-schema.xml", "patrol-1.2.xml", "patrol-1.3.xml"];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/smart")
        .join(name)
}

/// What the file says, read here with string searches, not patrol-smart:
/// metres (geodesic, pair by pair within each line string), hours (each
/// day's segments' spans), the number of observations.
struct Expected {
    metres: f64,
    hours: f64,
    observations: usize,
    points: usize,
}

fn attr_values<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let key = format!(" {name}=\"");
    text.split(&key)
        .skip(1)
        .map(|rest| &rest[..rest.find('"').expect("a closed attribute")])
        .collect()
}

fn expected(text: &str) -> Expected {
    let (mut metres, mut seconds, mut points) = (0.0, 0.0, 0);
    for geom in attr_values(text, "geom") {
        let body = &geom[geom.find('(').unwrap()..];
        for line in body
            .split(')')
            .map(|l| l.trim_start_matches([',', ' ', '(']))
        {
            let pts: Vec<(f64, f64, f64)> = line
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    let v: Vec<f64> = p.split_whitespace().map(|n| n.parse().unwrap()).collect();
                    (v[0], v[1], v[2])
                })
                .collect();
            points += pts.len();
            for w in pts.windows(2) {
                metres += Geodesic.distance(Point::new(w[0].0, w[0].1), Point::new(w[1].0, w[1].1));
            }
            if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
                seconds += b.2 - a.2;
            }
        }
    }
    Expected {
        metres,
        hours: seconds / 3600.0,
        observations: text.matches("<observations ").count(),
        points,
    }
}

fn import(env: &Env, file: &Path) -> (Value, i32) {
    env.json(&["import", file.to_str().unwrap(), "--json"])
}

fn patrols(env: &Env) -> Vec<Value> {
    env.json(&["patrols", "--json"])
        .0
        .as_array()
        .unwrap()
        .clone()
}

/// Each observation's category and attributes, as stored, in time order.
fn stored_observations(db: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT category, coalesce(attributes, '{}'), time FROM observations ORDER BY time_us, category")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn each_dialect_figure_by_figure() {
    for name in DIALECTS {
        let env = Env::init();
        let file = data(name);
        let text = std::fs::read_to_string(&file).unwrap();
        let want = expected(&text);
        let (out, code) = import(&env, &file);
        assert_eq!(code, 0, "{name}: {out}");
        let r = &out[0];
        assert_eq!(r["status"], "imported", "{name}: {r}");
        assert_eq!(
            r["track_points"].as_u64().unwrap() as usize,
            want.points,
            "{name}"
        );
        assert_eq!(
            r["observations"].as_u64().unwrap() as usize,
            want.observations,
            "{name}"
        );
        let km = r["length_m"].as_f64().unwrap();
        assert!(
            (km - want.metres).abs() < 0.05,
            "{name}: {km} m, expected {} m",
            want.metres
        );
        assert!(
            (r["counted_length_m"].as_f64().unwrap() - want.metres).abs() < 0.05,
            "{name}: quality control left nothing out"
        );
        let p = &patrols(&env)[0];
        assert!(
            (p["hours"].as_f64().unwrap() - want.hours).abs() < 1e-9,
            "{name}: {p}"
        );
        assert_eq!(
            p["team"].as_str().unwrap(),
            attr_values(&text, "value")[usize::from(name == "patrol-schema.xml")]
        );
        assert_eq!(p["leader"], "Somchai Srisuk");
        assert_eq!(p["transport"], serde_json::json!(["foot", "vehicle"]));
        assert_eq!(p["members"], 3);
        // The attributes, each of its type, as the file gives them.
        let obs = stored_observations(&env.db);
        assert_eq!(obs.len(), want.observations);
        let attrs: Vec<Value> = obs
            .iter()
            .map(|o| serde_json::from_str(&o.1).unwrap())
            .collect();
        assert_eq!(obs[0].0, "snare");
        assert_eq!(
            attrs[0],
            serde_json::json!({"age": "fresh", "count": 2.0, "removed": 2.0})
        );
        let carcass = obs.iter().position(|o| o.0 == "carcass").unwrap();
        assert_eq!(
            attrs[carcass],
            serde_json::json!({"age": "old", "parts_taken": true, "species": "sambar"})
        );
        let logging = obs.iter().position(|o| o.0 == "logging").unwrap();
        assert_eq!(
            attrs[logging],
            serde_json::json!({"count": 3.5, "tree_species": "Siamese rosewood"})
        );
        let intruder = obs.iter().position(|o| o.0 == "intruder").unwrap();
        assert_eq!(
            attrs[intruder],
            serde_json::json!({"arrested": 1.0, "people": 4.0})
        );
        // 08:30 local time in Bangkok (UTC+7) is 01:30 UTC.
        assert!(
            obs[0].2.as_deref().unwrap().ends_with("T01:30:00Z"),
            "{:?}",
            obs[0]
        );
    }
}

#[test]
fn unknown_keys_are_listed_and_nothing_is_saved() {
    let env = Env::init();
    let text = std::fs::read_to_string(data("patrol-1.3.xml"))
        .unwrap()
        .replace("categoryKey=\"snare\"", "categoryKey=\"wire_snare\"")
        .replace("categoryKey=\"intruder\"", "categoryKey=\"trespasser\"")
        .replace("attributeKey=\"removed\"", "attributeKey=\"destroyed\"");
    let file = env.write("odd.xml", &text);
    let (out, code) = import(&env, &file);
    assert_ne!(code, 0);
    let error = out[0]["error"].as_str().unwrap();
    assert!(
        error.contains("categories trespasser, wire_snare")
            && error.contains("attributes destroyed"),
        "{error}"
    );
    assert!(patrols(&env).is_empty());
    assert!(stored_observations(&env.db).is_empty());
    // A value the model refuses: nothing saved either.
    let text = std::fs::read_to_string(data("patrol-1.2.xml"))
        .unwrap()
        .replace("<itemKey>sambar</itemKey>", "<itemKey>unicorn</itemKey>");
    let (out, code) = import(&env, &env.write("bad.xml", &text));
    assert_ne!(code, 0);
    assert!(
        out[0]["error"].as_str().unwrap().contains("unicorn"),
        "{out}"
    );
    assert!(patrols(&env).is_empty());
}

#[test]
fn the_same_file_twice_is_a_duplicate() {
    let env = Env::init();
    let file = data("patrol-1.2.xml");
    let (first, _) = import(&env, &file);
    let (again, code) = import(&env, &file);
    assert_eq!(code, 0);
    assert_eq!(again[0]["status"], "duplicate");
    assert_eq!(again[0]["patrol_id"], first[0]["patrol_id"]);
    assert_eq!(patrols(&env).len(), 1);
}

#[test]
fn malformed_xml_gives_the_line() {
    let env = Env::init();
    let text = std::fs::read_to_string(data("patrol-schema.xml")).unwrap();
    let line = 1 + text[..text.find("<days").unwrap()].matches('\n').count();
    let broken = text.replacen("<days", "<days date=\"2024-03-04\" <", 1);
    let file = env.write("broken.xml", &broken);
    let (out, code) = import(&env, &file);
    assert_ne!(code, 0);
    let error = out[0]["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("broken.xml:{line}:")),
        "line {line}: {error}"
    );
    assert!(patrols(&env).is_empty());
}

#[test]
fn export_validates_and_imports_again_the_same() {
    let env = Env::init();
    for name in DIALECTS {
        assert_eq!(import(&env, &data(name)).1, 0);
    }
    let before = patrols(&env);
    let dir = env.path("smart");
    let (written, code) = env.json(&[
        "export",
        "--format",
        "smart",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--out-dir",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{written}");
    assert_eq!(written.as_array().unwrap().len(), 3);
    let files: Vec<PathBuf> = written
        .as_array()
        .unwrap()
        .iter()
        .map(|w| PathBuf::from(w["file"].as_str().unwrap()))
        .collect();
    match std::process::Command::new("xmllint")
        .arg("--version")
        .output()
    {
        Ok(_) => {
            let out = std::process::Command::new("xmllint")
                .args(["--noout", "--schema"])
                .arg(data("SmartPatrol.xsd"))
                .args(&files)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(_) => eprintln!(
            "note: xmllint is missing: the export is not validated against SmartPatrol.xsd"
        ),
    }
    // One patrol to a file; a file there is not replaced without --force.
    let one = env.path("one.xml");
    let id = before[0]["short_id"].as_str().unwrap();
    env.cmd()
        .args(["export", "--format", "smart", "--patrol", id, "--out"])
        .arg(&one)
        .assert()
        .success();
    env.cmd()
        .args(["export", "--format", "smart", "--patrol", id, "--out"])
        .arg(&one)
        .assert()
        .failure();

    let fresh = Env::init();
    let (out, code) = fresh.json(&["import", dir.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{out}");
    let after = patrols(&fresh);
    assert_eq!(after.len(), before.len());
    for (a, b) in before.iter().zip(&after) {
        for field in [
            "km",
            "hours",
            "track_points",
            "observations",
            "threats",
            "members",
            "first_date",
            "last_date",
            "team",
            "leader",
            "transport",
        ] {
            assert_eq!(a[field], b[field], "{field}: {a} / {b}");
        }
    }
    let strip = |v: Vec<(String, String, Option<String>)>| v;
    assert_eq!(
        strip(stored_observations(&env.db)),
        strip(stored_observations(&fresh.db))
    );
    // Our own export into the database it came from: the same fixes, a duplicate.
    let (again, _) = env.json(&["import", one.to_str().unwrap(), "--json"]);
    assert_eq!(again[0]["status"], "duplicate", "{again}");
}

#[test]
fn the_data_model_file_reads_and_writes_back() {
    let model = patrol_smart::read_data_model_file(&data("datamodel.xml")).unwrap();
    assert_eq!(model.languages, ["en", "th"]);
    assert_eq!(
        model.get("snare").unwrap().parent.as_deref(),
        Some("threats")
    );
    assert!(!model.get("old_sighting").unwrap().active);
    assert_eq!(
        model.attribute("species").unwrap().item_path("sambar"),
        ["mammal", "deer", "sambar"]
    );
    assert!(
        model
            .attributes_of("intruder")
            .iter()
            .any(|(a, required)| a.key == "people" && *required)
    );
    let back = patrol_smart::read_data_model(&patrol_smart::write_data_model(&model)).unwrap();
    assert_eq!(back, model);
}

#[test]
fn attributes_travel_through_an_export_and_a_merge() {
    // An outpost imports SMART patrols with typed attributes and sends its
    // export to the site: the site's database holds the same observations
    // with the same attributes, and its report the same attribute figures.
    let central = Env::init();
    let outpost = Env::new();
    outpost
        .cmd()
        .args(["init", "--join"])
        .arg(&central.db)
        .assert()
        .success();
    for name in ["patrol-1.2.xml", "patrol-1.3.xml", "patrol-schema.xml"] {
        let (r, code) = import(&outpost, &data(name));
        assert_eq!(
            (code, r[0]["status"].as_str()),
            (0, Some("imported")),
            "{r}"
        );
    }
    let sent = outpost.path("outpost.gpkg");
    outpost
        .cmd()
        .arg("export")
        .arg("--out")
        .arg(&sent)
        .assert()
        .success();
    let (merged, code) = central.json(&["merge", sent.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{merged}");
    assert_eq!(merged[0]["status"], "merged", "{merged}");
    let here = stored_observations(&outpost.db);
    assert!(
        here.iter().any(|(_, a, _)| a != "{}"),
        "the samples have attributes"
    );
    assert_eq!(stored_observations(&central.db), here);
    let report = |env: &Env| {
        env.json(&[
            "report",
            "--from",
            "2020-01-01",
            "--to",
            "2026-12-31",
            "--format",
            "json",
        ])
        .0["encounters"]["attributes"]
            .clone()
    };
    let figures = report(&outpost);
    assert!(
        figures.as_object().is_some_and(|o| !o.is_empty()),
        "{figures}"
    );
    assert_eq!(report(&central), figures);
}
