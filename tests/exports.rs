//! Open exports (`export --format geojson|csv|gpx`) and `patrol
//! observations`, end to end on SMART patrols with typed attributes and a
//! field recording: each file read back independently of patrol's code
//! (serde_json, a small CSV reader here, the `gpx` crate) and checked
//! against the rows stored; the filters; the refusals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use predicates::str::contains;
use serde_json::Value;

use crate::util::{Env, data};

/// A data model with a category tree: the shipped one, with snares and
/// carcasses under a new top category, `poaching`.
fn tree_model(env: &Env) -> PathBuf {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/data-model.toml"),
    )
    .unwrap();
    let text = shipped
        .replace(
            "key = \"snare\"\n",
            "key = \"snare\"\nparent = \"poaching\"\n",
        )
        .replace(
            "key = \"carcass\"\n",
            "key = \"carcass\"\nparent = \"poaching\"\n",
        )
        + "\n[[category]]\nkey = \"poaching\"\nlabel = \"Poaching\"\nthreat = true\n";
    env.write("model.toml", &text)
}

/// The site's database: the SMART patrols of 2024-03-11..13 (team 2) and
/// 2024-03-18..20 (team 3), the field recording of Cerknica (team "Alpha,
/// north", its waypoints untimed but one), and two observations by hand:
/// one whose note a spreadsheet would run, one in the western and southern
/// hemispheres.
struct Site {
    env: Env,
    team2: String,
    team3: String,
    field: String,
}

fn site() -> Site {
    let env = Env::new();
    let model = tree_model(&env);
    env.cmd()
        .args(["init", "--site", "Thap Lan", "--timezone", "Asia/Bangkok"])
        .arg("--data-model")
        .arg(&model)
        .assert()
        .success();
    for name in ["patrol-1.2.xml", "patrol-1.3.xml"] {
        let (r, code) = env.json(&[
            "import",
            "--json",
            data(&format!("smart/{name}")).to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{r}");
    }
    let (r, code) = env.json(&[
        "import",
        "--team",
        "Alpha, north",
        "--json",
        data("field/clean/cerknicko-jezero.gpx").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{r}");
    let field = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let patrols = env.json(&["patrols", "--json"]).0;
    let by_team = |team: &str| {
        patrols
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["team"] == team)
            .unwrap()["patrol_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (team2, team3) = (by_team("Ranger team 2"), by_team("Ranger team 3"));
    env.cmd()
        .args(["observe", "--patrol", &team3, "--category", "logging"])
        .args([
            "--at",
            "14.35,102.19",
            "--time",
            "2024-03-19T10:00:00+07:00",
        ])
        .args(["--note", "=HYPERLINK(\"http://example.com\",\"x\")"])
        .assert()
        .success();
    env.cmd()
        .args(["observe", "--patrol", &field, "--category", "other"])
        .args(["--at=-33.9,-18.4", "--time", "2010-08-05T15:00:00Z"])
        .arg("--note=-5 snares, @home")
        .assert()
        .success();
    Site {
        env,
        team2,
        team3,
        field,
    }
}

/// Every live observation's stored position (from its version's row, not
/// through patrol's reading code): id to (lon, lat).
fn stored_positions(db: &Path) -> BTreeMap<String, (f64, f64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT o.observation_id, v.lon, v.lat FROM observations o
             JOIN observation_versions v ON v.version_id = o.version_id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Run `export` with these arguments to `out` (`--json`): what it says it wrote.
fn export(env: &Env, out: &Path, args: &[&str]) -> Value {
    let mut all = vec!["export", "--json", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let (v, code) = env.json(&all);
    assert_eq!(code, 0, "{args:?}: {v}");
    assert_eq!(v["file"], out.to_str().unwrap());
    assert_eq!(
        v["bytes"].as_u64().unwrap(),
        std::fs::metadata(out).unwrap().len()
    );
    v
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn features<'a>(doc: &'a Value, kind: &str) -> Vec<&'a Value> {
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == kind)
        .collect()
}

/// Whether a number has at most 7 decimals.
fn seven_decimals(x: f64) -> bool {
    ((x * 1e7).round() / 1e7 - x).abs() == 0.0
}

#[test]
fn geojson_is_rfc_7946_with_the_stored_positions_and_the_attributes() {
    let s = site();
    let env = &s.env;
    let out = env.path("all.geojson");
    let said = export(env, &out, &["--format", "geojson"]);
    let doc = read_json(&out);
    assert_eq!(doc["type"], "FeatureCollection");
    assert!(doc.get("crs").is_none(), "RFC 7946 has no crs member");
    let stored = stored_positions(&env.db);
    let points = features(&doc, "observation");
    assert_eq!(points.len(), stored.len());
    assert_eq!(
        said["observations"].as_u64().unwrap() as usize,
        stored.len()
    );
    for f in &points {
        assert_eq!(f["type"], "Feature");
        assert!(f.get("crs").is_none());
        assert_eq!(f["geometry"]["type"], "Point");
        let id = f["properties"]["observation_id"].as_str().unwrap();
        assert_eq!(f["id"], id);
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        let (want_lon, want_lat) = stored[id];
        // [lon, lat], to 7 decimals.
        assert!((lon - want_lon).abs() <= 0.5e-7, "{id}: {lon} / {want_lon}");
        assert!((lat - want_lat).abs() <= 0.5e-7, "{id}: {lat} / {want_lat}");
        assert!(seven_decimals(lon) && seven_decimals(lat), "{c:?}");
        for key in [
            "category",
            "label",
            "threat",
            "patrol_id",
            "team",
            "time",
            "local_time",
            "attributes",
        ] {
            assert!(f["properties"].get(key).is_some(), "{key} missing: {f}");
        }
    }
    // The SMART patrols are in Thailand: lon 102, lat 14, not the other way.
    let snare = points
        .iter()
        .find(|f| f["properties"]["category"] == "snare" && f["properties"]["patrol_id"] == s.team3)
        .unwrap();
    assert_eq!(
        snare["geometry"]["coordinates"],
        serde_json::json!([102.206, 14.312])
    );
    let p = &snare["properties"];
    assert_eq!(p["label"], "Snare");
    assert_eq!(p["threat"], true);
    assert_eq!(p["team"], "Ranger team 3");
    assert_eq!(p["time"], "2024-03-18T01:30:00Z");
    assert_eq!(p["local_time"], "2024-03-18T08:30:00+07:00");
    assert_eq!(
        p["attributes"],
        serde_json::json!({"count": 2.0, "removed": 2.0, "age": "fresh"})
    );
    let carcass = points
        .iter()
        .find(|f| {
            f["properties"]["category"] == "carcass" && f["properties"]["patrol_id"] == s.team2
        })
        .unwrap();
    assert_eq!(
        carcass["properties"]["attributes"],
        serde_json::json!({"species": "sambar", "parts_taken": true, "age": "old"})
    );
    // An untimed waypoint: null times.
    let untimed = points
        .iter()
        .find(|f| f["properties"]["patrol_id"] == s.field && f["properties"]["time"].is_null())
        .unwrap();
    assert!(untimed["properties"]["local_time"].is_null());

    // Tracks: a line (or multi-line) per leg, with its patrol, leg, team, transport.
    let tracks = features(&doc, "track");
    assert_eq!(
        tracks.len(),
        5,
        "two legs of each SMART patrol, one of the field's"
    );
    assert_eq!(said["tracks"], 5);
    let mut points_written = 0;
    for t in &tracks {
        let p = &t["properties"];
        for key in ["patrol_id", "team", "transport", "leg_id"] {
            assert!(p[key].is_string(), "{key}: {t}");
        }
        let lines: Vec<Value> = match t["geometry"]["type"].as_str().unwrap() {
            "LineString" => vec![t["geometry"]["coordinates"].clone()],
            "MultiLineString" => t["geometry"]["coordinates"].as_array().unwrap().clone(),
            other => panic!("a track as {other}"),
        };
        for line in &lines {
            let line = line.as_array().unwrap();
            assert!(line.len() >= 2);
            points_written += line.len();
            for c in line {
                let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
                assert!(seven_decimals(lon) && seven_decimals(lat));
                if p["patrol_id"] == s.field {
                    assert!((14.0..15.0).contains(&lon) && (45.0..46.0).contains(&lat));
                } else {
                    assert!((102.0..103.0).contains(&lon) && (14.0..15.0).contains(&lat));
                }
            }
        }
    }
    assert_eq!(said["track_points"], points_written);
    let transports: Vec<&str> = tracks
        .iter()
        .filter(|t| t["properties"]["patrol_id"] == s.team2)
        .map(|t| t["properties"]["transport"].as_str().unwrap())
        .collect();
    assert_eq!(transports, ["foot", "vehicle"]);
}

/// RFC 4180 records (quoted fields, doubled quotes, line breaks in quotes).
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (_, c) => cell.push(c),
        }
    }
    assert!(
        cell.is_empty() && row.is_empty(),
        "the last line ends with \\n"
    );
    rows
}

#[test]
fn csv_has_a_row_per_observation_a_column_per_attribute_and_runs_no_formula() {
    let s = site();
    let env = &s.env;
    let out = env.path("obs.csv");
    let said = export(env, &out, &["--format", "csv"]);
    let text = std::fs::read_to_string(&out).unwrap();
    let rows = read_csv(&text);
    let header = &rows[0];
    assert_eq!(
        header,
        &[
            "observation_id",
            "patrol_id",
            "team",
            "category",
            "label",
            "threat",
            "time",
            "local_time",
            "lon",
            "lat",
            "note",
            // The attributes the rows have, in the data model's order.
            "count",
            "removed",
            "people",
            "arrested",
            "parts_taken",
            "age",
            "tree_species",
            "species",
        ]
    );
    let stored = stored_positions(&env.db);
    assert_eq!(rows.len() - 1, stored.len());
    assert_eq!(
        said["observations"].as_u64().unwrap() as usize,
        stored.len()
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for r in &rows[1..] {
        assert_eq!(r.len(), header.len(), "{r:?}");
        let (lon, lat) = stored[&r[col("observation_id")]];
        let got: (f64, f64) = (
            r[col("lon")].parse().unwrap(),
            r[col("lat")].parse().unwrap(),
        );
        assert!((got.0 - lon).abs() <= 0.5e-7 && (got.1 - lat).abs() <= 0.5e-7);
        ids.insert(r[col("observation_id")].clone());
        // Nothing a spreadsheet would run as a formula.
        for cell in r {
            assert!(
                !cell.starts_with(['=', '+', '@', '\t', '\r'])
                    && (!cell.starts_with('-') || cell.parse::<f64>().is_ok()),
                "{cell:?} in {r:?}"
            );
        }
    }
    assert_eq!(ids.len(), stored.len());
    let find = |category: &str, patrol: &str| {
        rows[1..]
            .iter()
            .find(|r| r[col("category")] == category && r[col("patrol_id")] == patrol)
            .unwrap()
    };
    let snare = find("snare", &s.team2);
    assert_eq!(snare[col("label")], "Snare");
    assert_eq!(snare[col("threat")], "true");
    assert_eq!(snare[col("team")], "Ranger team 2");
    assert_eq!(snare[col("local_time")], "2024-03-11T08:30:00+07:00");
    assert_eq!(snare[col("count")], "2");
    assert_eq!(snare[col("removed")], "2");
    assert_eq!(snare[col("age")], "fresh");
    assert_eq!(snare[col("species")], "");
    assert_eq!(snare[col("note")], "Two snares on the game trail");
    let carcass = find("carcass", &s.team2);
    assert_eq!(carcass[col("parts_taken")], "true");
    assert_eq!(carcass[col("species")], "sambar");
    let logs: Vec<&Vec<String>> = rows[1..]
        .iter()
        .filter(|r| r[col("category")] == "logging" && r[col("patrol_id")] == s.team3)
        .collect();
    assert!(logs.iter().any(|r| r[col("count")] == "3.5"
        && r[col("tree_species")] == "Siamese rosewood"
        && r[col("note")] == "Cut logs & a cart"));
    // A note starting with "=" is neutralised; so is one starting with "-",
    // but not a negative coordinate; a team with a comma is quoted.
    assert!(
        logs.iter()
            .any(|r| r[col("note")] == "'=HYPERLINK(\"http://example.com\",\"x\")")
    );
    assert!(text.contains("\"'=HYPERLINK(\"\"http://example.com\"\",\"\"x\"\")\""));
    let west = rows[1..]
        .iter()
        .find(|r| r[col("lon")].starts_with('-'))
        .unwrap();
    assert_eq!(
        (west[col("lon")].as_str(), west[col("lat")].as_str()),
        ("-18.4", "-33.9")
    );
    assert_eq!(west[col("note")], "'-5 snares, @home");
    assert_eq!(west[col("team")], "Alpha, north");
    assert!(text.contains(",\"Alpha, north\","));
}

/// The km of the only patrol of a database.
fn km(env: &Env) -> f64 {
    let patrols = env.json(&["patrols", "--json"]).0;
    assert_eq!(patrols.as_array().unwrap().len(), 1, "{patrols}");
    patrols[0]["km"].as_f64().unwrap()
}

#[test]
fn gpx_of_a_patrol_imports_again_with_the_same_km() {
    for (name, file) in [
        ("cerknicko", "field/clean/cerknicko-jezero.gpx"),
        ("korita", "field/clean/korita-zbevnica.gpx"),
        ("untimed", "gpxpy/cerknicko-without-times.gpx"),
        ("spike", "field/faults/blue-hills-big-loop--spike.gpx"),
    ] {
        let env = Env::init();
        let (r, code) = env.json(&[
            "import",
            "--team",
            "Alpha",
            "--transport",
            "foot",
            "--json",
            data(file).to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{name}: {r}");
        let id = r[0]["patrol_id"].as_str().unwrap().to_owned();
        let before = km(&env);
        let shown = env.json(&["show", "--json", &id]).0;
        let out = env.path("patrol.gpx");
        let said = export(&env, &out, &["--format", "gpx", "--patrol", &id]);

        // Read by another GPX reader: GPX 1.1, a trk for the leg, a trkseg
        // per segment, every fix with its time and elevation.
        let doc = gpx::read(std::fs::File::open(&out).unwrap()).unwrap();
        assert_eq!(doc.version, gpx::GpxVersion::Gpx11, "{name}");
        assert_eq!(doc.tracks.len(), 1, "{name}");
        assert_eq!(
            doc.tracks[0].segments.len() as u64,
            shown["segments"].as_u64().unwrap(),
            "{name}"
        );
        let fixes: Vec<&gpx::Waypoint> = doc.tracks[0]
            .segments
            .iter()
            .flat_map(|s| &s.points)
            .collect();
        assert_eq!(fixes.len() as u64, r[0]["track_points"].as_u64().unwrap());
        assert_eq!(said["track_points"], fixes.len());
        let timed = fixes.iter().filter(|f| f.time.is_some()).count();
        if name == "untimed" {
            // Its last five fixes only have a time.
            assert_eq!(timed, 5, "{name}");
        } else {
            assert_eq!(timed, fixes.len(), "{name}");
        }
        if name == "cerknicko" {
            assert!(fixes.iter().all(|f| f.elevation.is_some()));
        }
        assert_eq!(
            doc.waypoints.len() as u64,
            r[0]["observations"].as_u64().unwrap()
        );

        let fresh = Env::init();
        let (again, code) = fresh.json(&[
            "import",
            "--team",
            "Alpha",
            "--transport",
            "foot",
            "--json",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{name}: {again}");
        let after = km(&fresh);
        assert!(
            (after - before).abs() < 1e-6,
            "{name}: {before} km, again {after} km"
        );
        assert_eq!(again[0]["track_points"], r[0]["track_points"], "{name}");
        assert_eq!(again[0]["observations"], r[0]["observations"], "{name}");
        let p0 = &env.json(&["patrols", "--json"]).0[0];
        let p1 = &fresh.json(&["patrols", "--json"]).0[0];
        for field in ["hours", "first_date", "last_date", "start", "end"] {
            assert_eq!(p0[field], p1[field], "{name}: {field}");
        }
    }
}

#[test]
fn gpx_waypoints_carry_the_category_label_note_and_time() {
    let s = site();
    let env = &s.env;
    let out = env.path("team3.gpx");
    let said = export(env, &out, &["--format", "gpx", "--patrol", &s.team3]);
    assert_eq!(said["tracks"], 2);
    let doc = gpx::read(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(doc.tracks.len(), 2, "a trk per leg");
    let listed = env
        .json(&["observations", "--json", "--patrol", &s.team3])
        .0;
    let listed = listed.as_array().unwrap();
    assert_eq!(doc.waypoints.len(), listed.len());
    for (w, o) in doc.waypoints.iter().zip(listed) {
        assert_eq!(w.name.as_deref(), o["label"].as_str());
        assert_eq!(w.description.as_deref(), o["note"].as_str());
        let t = time::OffsetDateTime::from(w.time.unwrap());
        assert_eq!(
            t.unix_timestamp(),
            chrono::DateTime::parse_from_rfc3339(o["time"].as_str().unwrap())
                .unwrap()
                .timestamp()
        );
        assert!((w.point().x() - o["lon"].as_f64().unwrap()).abs() < 1e-12);
        assert!((w.point().y() - o["lat"].as_f64().unwrap()).abs() < 1e-12);
    }
    // Imported again, the waypoints find their categories by the labels.
    let fresh = Env::init();
    let (r, code) = fresh.json(&[
        "import",
        "--team",
        "Ranger team 3",
        "--json",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{r}");
    let again = fresh.json(&["observations", "--json"]).0;
    let cats = |v: &[Value]| {
        let mut c: Vec<String> = v
            .iter()
            .map(|o| o["category"].as_str().unwrap().to_owned())
            .collect();
        c.sort();
        c
    };
    assert_eq!(cats(again.as_array().unwrap()), cats(listed));
    // --category picks the waypoints; the track stays whole.
    let only = env.path("team3-snares.gpx");
    let said = export(
        env,
        &only,
        &[
            "--format",
            "gpx",
            "--patrol",
            &s.team3,
            "--category",
            "poaching",
        ],
    );
    assert_eq!(said["observations"], 2);
    assert_eq!(
        said["track_points"],
        export(
            env,
            &env.path("t3.gpx"),
            &["--format", "gpx", "--patrol", &s.team3]
        )["track_points"]
    );
}

/// What an export of these filters writes: observation ids, and the
/// patrols, legs and points of its tracks.
fn picked(env: &Env, args: &[&str]) -> (Vec<String>, Vec<(String, String)>, usize) {
    let out = env.path(&format!(
        "pick-{}.geojson",
        args.join("_").replace(['/', ' '], "-")
    ));
    let mut all = vec!["--format", "geojson"];
    all.extend_from_slice(args);
    let said = export(env, &out, &all);
    let doc = read_json(&out);
    let mut obs: Vec<String> = features(&doc, "observation")
        .iter()
        .map(|f| f["properties"]["category"].as_str().unwrap().to_owned())
        .collect();
    obs.sort();
    let legs = features(&doc, "track")
        .iter()
        .map(|f| {
            (
                f["properties"]["patrol_id"].as_str().unwrap().to_owned(),
                f["properties"]["leg_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (obs, legs, said["track_points"].as_u64().unwrap() as usize)
}

#[test]
fn filters_pick_what_is_written() {
    let s = site();
    let env = &s.env;
    let (all, all_legs, all_points) = picked(env, &[]);
    assert_eq!(all.len(), 19);
    assert_eq!(all_legs.len(), 5);

    // A category takes its sub-categories along: poaching is snares and carcasses.
    let (obs, legs, points) = picked(env, &["--category", "poaching"]);
    assert_eq!(obs, ["carcass", "carcass", "snare", "snare"]);
    assert_eq!((legs.len(), points), (5, all_points), "tracks stay");
    let (obs, _, _) = picked(env, &["--category", "snare"]);
    assert_eq!(obs, ["snare", "snare"]);
    let (obs, _, _) = picked(env, &["--category", "Snare", "--category", "intruder"]);
    assert_eq!(obs, ["intruder", "intruder", "snare", "snare"]);

    // A patrol: its observations and legs only.
    let (obs, legs, _) = picked(env, &["--patrol", &s.team2]);
    assert_eq!(
        obs,
        ["carcass", "intruder", "logging", "snare", "wildlife_sign"]
    );
    assert_eq!(legs.len(), 2);
    assert!(legs.iter().all(|(p, _)| *p == s.team2));

    // Local dates: team 3's first leg walked on the 18th and 19th, its
    // second on the 20th; the hand-made log of the 19th is in.
    let (obs, legs, both) = picked(env, &["--from", "2024-03-18", "--to", "2024-03-19"]);
    assert_eq!(
        obs,
        ["carcass", "logging", "logging", "snare", "wildlife_sign"]
    );
    assert_eq!(legs.len(), 1);
    assert_eq!(legs[0].0, s.team3);
    let (obs, legs18, first) = picked(env, &["--from", "2024-03-18", "--to", "2024-03-18"]);
    assert_eq!(obs, ["carcass", "snare", "wildlife_sign"]);
    let (_, legs19, second) = picked(env, &["--from", "2024-03-19", "--to", "2024-03-19"]);
    assert_eq!(legs18, legs);
    assert_eq!(legs19, legs);
    // The leg is cut to its pairs of the day: each day's part, together the two days'.
    assert!(
        first > 0 && second > 0 && first + second == both,
        "{first} + {second} / {both}"
    );
    // The untimed waypoints count on their patrol's first track date.
    let (obs, legs, _) = picked(env, &["--from", "2010-08-05", "--to", "2010-08-05"]);
    assert_eq!(obs.len(), 8);
    assert_eq!(legs.len(), 1);
    let (obs, legs, points) = picked(env, &["--from", "2020-01-01", "--to", "2020-12-31"]);
    assert!(obs.is_empty() && legs.is_empty() && points == 0);

    // Filters together, and a site.
    let (obs, legs, _) = picked(
        env,
        &[
            "--patrol",
            &s.team3,
            "--category",
            "poaching",
            "--site",
            "thap lan",
        ],
    );
    assert_eq!(obs, ["carcass", "snare"]);
    assert_eq!(legs.len(), 2);

    // `patrol observations` picks the same.
    let listed = |args: &[&str]| {
        let mut a = vec!["observations", "--json"];
        a.extend_from_slice(args);
        let (v, code) = env.json(&a);
        assert_eq!(code, 0, "{v}");
        v.as_array().unwrap().len()
    };
    assert_eq!(listed(&[]), 19);
    assert_eq!(listed(&["--month", "2024-03"]), 11);
    assert_eq!(listed(&["--from", "2024-03-18", "--to", "2024-03-19"]), 5);
    assert_eq!(listed(&["--category", "poaching"]), 4);
    assert_eq!(listed(&["--patrol", &s.team2[s.team2.len() - 8..]]), 5);
}

#[test]
fn observations_json_names_what_patrols_and_show_name() {
    let s = site();
    let env = &s.env;
    let (list, code) = env.json(&["observations", "--json", "--patrol", &s.team3]);
    assert_eq!(code, 0);
    let shown = env.json(&["show", "--json", &s.team3]).0;
    let patrol = &env.json(&["patrols", "--json"]).0;
    let patrol = patrol
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["patrol_id"] == s.team3)
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), shown["observations"].as_array().unwrap().len());
    for o in list {
        let same = shown["observations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["observation_id"] == o["observation_id"])
            .unwrap();
        for key in [
            "observation_id",
            "short_id",
            "category",
            "threat",
            "time",
            "lat",
            "lon",
            "raw_name",
            "note",
        ] {
            assert_eq!(o[key], same[key], "{key}");
        }
        for key in ["patrol_id", "team", "site_id", "site_name"] {
            assert_eq!(o[key], patrol[key], "{key}");
        }
        assert_eq!(o["patrol_short_id"], patrol["short_id"]);
        assert!(o["label"].is_string() && o["attributes"].is_object());
    }
    let snare = list.iter().find(|o| o["category"] == "snare").unwrap();
    assert_eq!(snare["local_time"], "2024-03-18T08:30:00+07:00");
    assert_eq!(snare["date"], "2024-03-18");
    assert_eq!(
        snare["attributes"],
        serde_json::json!({"count": 2.0, "removed": 2.0, "age": "fresh"})
    );
}

#[test]
fn refusals_are_clear_and_write_nothing() {
    let s = site();
    let env = &s.env;
    let out = env.path("x.gpx");
    let refused = |args: &[&str], says: &str| {
        let _ = std::fs::remove_file(&out);
        env.cmd()
            .args(["export", "--out", out.to_str().unwrap()])
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(says.to_owned()));
        assert!(!out.exists(), "{args:?} wrote a file");
    };
    refused(&["--format", "gpx"], "give --patrol ID");
    refused(
        &[
            "--format",
            "gpx",
            "--patrol",
            &s.team2,
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
        ],
        "--format gpx does not take --from/--to",
    );
    refused(
        &["--format", "csv", "--category", "nope"],
        "no category 'nope'",
    );
    refused(&["--format", "csv", "--patrol", "ffffffff"], "no patrol");
    refused(
        &["--format", "geojson", "--site", "Nowhere"],
        "no site 'Nowhere'",
    );
    refused(
        &[
            "--format",
            "csv",
            "--from",
            "2024-03-31",
            "--to",
            "2024-03-01",
        ],
        "is after --to",
    );
    refused(
        &["--format", "geojson", "--since-last-export"],
        "does not take --since-last-export",
    );
    refused(
        &["--category", "snare"],
        "--format gpkg does not take --category",
    );
    refused(
        &[
            "--format",
            "smart",
            "--patrol",
            &s.team2,
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
        ],
        "not both",
    );

    // An existing file: kept without --force, replaced with it.
    for format in ["geojson", "csv", "gpx"] {
        let there = env.write(&format!("there.{format}"), "keep me\n");
        let run = |force: bool| {
            let mut c = env.cmd();
            c.args(["export", "--format", format, "--patrol", &s.team2, "--out"])
                .arg(&there);
            if force {
                c.arg("--force");
            }
            c.assert()
        };
        run(false).code(2).stderr(contains("--force"));
        assert_eq!(std::fs::read_to_string(&there).unwrap(), "keep me\n");
        run(true).success();
        assert_ne!(std::fs::read_to_string(&there).unwrap(), "keep me\n");
    }
    // Never the database, even with --force.
    env.cmd()
        .args(["export", "--format", "csv", "--force", "--out"])
        .arg(&env.db)
        .assert()
        .code(2)
        .stderr(contains("database"));
    assert!(
        std::fs::read_dir(env.dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "no temporary file left"
    );
}

#[test]
fn observations_as_a_table() {
    let s = site();
    let env = &s.env;
    // Every short id, of observations and patrols, is a placeholder.
    let list = env.json(&["observations", "--json"]).0;
    let mut shorts: Vec<(String, &str)> = Vec::new();
    for o in list.as_array().unwrap() {
        shorts.push((o["short_id"].as_str().unwrap().to_owned(), "[OBS-ID]"));
        shorts.push((
            o["patrol_short_id"].as_str().unwrap().to_owned(),
            "[PATROL]",
        ));
    }
    shorts.sort();
    shorts.dedup();
    let settings = crate::snapshots::settings(&[env.dir.path()], &shorts);
    let run = |args: &[&str]| {
        crate::snapshots::shown(&env.cmd().env("COLUMNS", "100").args(args).output().unwrap())
    };
    settings.bind(|| {
        insta::assert_snapshot!(
            "observations_march_2024",
            run(&["observations", "--month", "2024-03"])
        );
        insta::assert_snapshot!(
            "observations_poaching",
            run(&[
                "observations",
                "--category",
                "poaching",
                "--patrol",
                &s.team2
            ])
        );
    });
}
