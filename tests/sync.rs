//! Outposts export, the site office merges: export, merge, ledger, conflicts.

use predicates::str::contains;
use serde_json::Value;

use crate::util::{Env, gpx};

/// A database at `name` in the same scratch folder as `env`.
pub(crate) fn other(env: &Env, name: &str) -> Env {
    Env {
        dir: tempfile::tempdir_in(env.dir.path()).unwrap(),
        db: env.path(name),
    }
}

pub(crate) fn import(db: &Env, name: &str, lat: f64, day: u32) -> String {
    let f = db.write(
        name,
        &gpx(
            &[
                (lat, 102.1, Some(&format!("2026-10-{day:02}T01:00:00Z"))),
                (
                    lat + 0.05,
                    102.1,
                    Some(&format!("2026-10-{day:02}T03:00:00Z")),
                ),
            ],
            &[(
                lat,
                102.1,
                "Snare",
                Some(&format!("2026-10-{day:02}T02:00:00Z")),
            )],
        ),
    );
    let (r, code) = db.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    r[0]["patrol_id"].as_str().unwrap().to_owned()
}

fn merge(central: &Env, files: &[&std::path::Path]) -> (Value, i32) {
    let mut args = vec!["merge".to_owned(), "--json".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    central.json(&args)
}

/// A site office's database and two outpost laptops that joined its site.
pub(crate) fn site_with_two_outposts() -> (Env, Env, Env) {
    let central = Env::init();
    let a = other(&central, "a.gpkg");
    let b = other(&central, "b.gpkg");
    for o in [&a, &b] {
        o.cmd()
            .arg("init")
            .arg("--join")
            .arg(&central.db)
            .assert()
            .success();
    }
    (central, a, b)
}

#[test]
fn two_outposts_merge_into_central_once() {
    let (central, a, b) = site_with_two_outposts();
    import(&a, "a1.gpx", 14.2, 4);
    import(&a, "a2.gpx", 14.3, 5);
    import(&b, "b1.gpx", 14.4, 6);
    let ea = central.path("a-export.gpkg");
    let eb = central.path("b-export.gpkg");
    a.cmd()
        .arg("export")
        .arg("--out")
        .arg(&ea)
        .assert()
        .success();
    b.cmd()
        .arg("export")
        .arg("--out")
        .arg(&eb)
        .assert()
        .success();
    let (r, code) = merge(&central, &[&ea, &eb, &ea]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r[0]["status"], "merged");
    assert_eq!(r[1]["status"], "merged");
    assert_eq!(r[2]["status"], "duplicate");
    let (patrols, _) = central.json(&["patrols", "--json"]);
    assert_eq!(patrols.as_array().unwrap().len(), 3);
    // One site: the outposts joined the office's.
    let (rep, _) = central.json(&["report", "--month", "2026-10", "--format", "json"]);
    assert!(rep["by_site"].is_null(), "one site, not three");
    assert_eq!(rep["encounters"]["threats"], 3);
    let (ledger, _) = central.json(&["ledger", "--json"]);
    assert_eq!(ledger.as_array().unwrap().len(), 2);
    // Every patrol keeps the device it came from.
    let origins: std::collections::BTreeSet<&str> = patrols
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["origin_device"].as_str().unwrap())
        .collect();
    assert_eq!(origins.len(), 2);
    // A delta holds only what is new.
    import(&a, "a3.gpx", 14.5, 7);
    let delta = central.path("a-delta.gpkg");
    a.cmd()
        .args(["export", "--since-last-export", "--out"])
        .arg(&delta)
        .assert()
        .success();
    let (r, _) = merge(&central, &[&delta]);
    assert_eq!(r[0]["status"], "merged");
    assert_eq!(r[0]["track_pieces"], 1);
    let (patrols, _) = central.json(&["patrols", "--json"]);
    assert_eq!(patrols.as_array().unwrap().len(), 4);
    // `--into` names the target database instead of --db.
    let regional = other(&central, "regional.gpkg");
    regional
        .cmd()
        .args(["init", "--site", "Region", "--timezone", "Asia/Bangkok"])
        .assert()
        .success();
    let central_export = central.path("central-export.gpkg");
    central
        .cmd()
        .arg("export")
        .arg("--out")
        .arg(&central_export)
        .assert()
        .success();
    regional
        .cmd()
        .arg("merge")
        .arg("--into")
        .arg(&regional.db)
        .arg(&central_export)
        .assert()
        .success();
    let (rp, _) = regional.json(&["patrols", "--json"]);
    assert_eq!(rp.as_array().unwrap().len(), 4);
}

#[test]
fn edits_on_two_devices_are_a_conflict_until_resolved() {
    let (central, a, b) = site_with_two_outposts();
    let patrol = import(&a, "a1.gpx", 14.2, 4);
    let ea = central.path("a.gpkg.out");
    a.cmd()
        .arg("export")
        .arg("--out")
        .arg(&ea)
        .assert()
        .success();
    b.cmd().arg("merge").arg(&ea).assert().success();
    let (shown, _) = b.json(&["show", "--json", &patrol]);
    let obs = shown["observations"][0]["observation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.cmd()
        .args(["edit", "observation", &obs, "--category", "carcass"])
        .assert()
        .success();
    b.cmd()
        .args(["edit", "observation", &obs, "--category", "gunshot"])
        .assert()
        .success();
    let (fa, fb) = (central.path("a2.out"), central.path("b2.out"));
    a.cmd()
        .arg("export")
        .arg("--out")
        .arg(&fa)
        .assert()
        .success();
    b.cmd()
        .arg("export")
        .arg("--out")
        .arg(&fb)
        .assert()
        .success();
    let (r, code) = merge(&central, &[&fa, &fb]);
    assert_eq!(code, 0, "{r}");
    let (c, _) = central.json(&["conflicts", "--json"]);
    let list = c.as_array().unwrap();
    assert_eq!(list.len(), 1, "{c}");
    assert_eq!(list[0]["record_id"], obs.as_str());
    let heads = list[0]["heads"].as_array().unwrap();
    assert_eq!(heads.len(), 2);
    // Neither edit is lost: both are heads; one is shown.
    let keep = heads
        .iter()
        .find(|h| h["summary"].as_str().unwrap().contains("carcass"))
        .expect("carcass head");
    central
        .cmd()
        .args([
            "conflicts",
            "resolve",
            &obs,
            "--keep",
            keep["version_id"].as_str().unwrap(),
        ])
        .assert()
        .success();
    let (c, _) = central.json(&["conflicts", "--json"]);
    assert_eq!(c.as_array().unwrap().len(), 0);
    let (shown, _) = central.json(&["show", "--json", &patrol]);
    assert_eq!(shown["observations"][0]["category"], "carcass");
}

#[test]
fn a_hostile_file_is_rejected_and_changes_nothing() {
    let central = Env::init();
    let junk = central.write("junk.gpkg", &"\u{1}garbage".repeat(1000));
    let (r, code) = merge(&central, &[&junk]);
    assert_eq!(code, 1);
    assert_eq!(r[0]["status"], "rejected");
    assert!(r[0]["error"].as_str().unwrap().contains("junk.gpkg"));
    // Merging our own database into itself is a copied device, not a merge.
    let copy = central.path("copy.gpkg");
    std::fs::copy(&central.db, &copy).unwrap();
    central
        .cmd()
        .arg("merge")
        .arg(&copy)
        .assert()
        .code(1)
        .stderr(contains("copy.gpkg"));
    let (ledger, _) = central.json(&["ledger", "--json"]);
    assert_eq!(ledger.as_array().unwrap().len(), 0);
}

/// A user clicks "create spatial index" in QGIS on the outpost's and the
/// office's databases: GDAL adds the GeoPackage R-tree extension, whose
/// triggers call ST_* functions. Import, export and merge must all still work,
/// and keep the index complete.
#[test]
fn databases_indexed_in_qgis_still_import_and_merge() {
    let (central, a, _) = site_with_two_outposts();
    let ddl = std::fs::read_to_string(crate::util::data("gdal-spatial-index-tracks.sql")).unwrap();
    for db in [&a.db, &central.db] {
        rusqlite::Connection::open(db)
            .unwrap()
            .execute_batch(&ddl)
            .unwrap();
    }
    import(&a, "a1.gpx", 14.2, 4);
    import(&a, "a2.gpx", 14.3, 5);
    let count = |db: &std::path::Path, sql: &str| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&a.db, "SELECT count(*) FROM rtree_tracks_geom"), 2);
    let export = central.path("a-export.gpkg");
    a.cmd()
        .arg("export")
        .arg("--out")
        .arg(&export)
        .assert()
        .success();
    let (r, code) = merge(&central, &[&export]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r[0]["status"], "merged");
    assert_eq!(
        count(&central.db, "SELECT count(*) FROM rtree_tracks_geom"),
        2
    );
    // The index holds each piece's true extent.
    let (minx, maxy): (f64, f64) = rusqlite::Connection::open(&central.db)
        .unwrap()
        .query_row(
            "SELECT min(minx), max(maxy) FROM rtree_tracks_geom",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        (minx - 102.1).abs() < 1e-5 && (maxy - 14.35).abs() < 1e-5,
        "{minx} {maxy}"
    );
    // Any other trigger is still refused.
    let hostile = central.path("hostile.gpkg");
    std::fs::copy(&export, &hostile).unwrap();
    rusqlite::Connection::open(&hostile)
        .unwrap()
        .execute_batch("CREATE TRIGGER rtree_tracks_geom_evil AFTER INSERT ON tracks BEGIN DELETE FROM patrols; END;")
        .unwrap();
    let (r, code) = merge(&central, &[&hostile]);
    assert_eq!(code, 1);
    assert!(
        r[0]["error"]
            .as_str()
            .unwrap()
            .contains("rtree_tracks_geom_evil"),
        "{r}"
    );
}
