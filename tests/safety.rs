//! Commands that never destroy a user's file (issue 8): outputs never land on
//! a database or silently replace a file; writers wait for each other; text
//! from files reaches the terminal escaped; big text is cut at import.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::Env;

/// The database still opens as ours, with its patrol.
fn still_a_database(env: &Env) {
    let (list, code) = env.json(&["patrols", "--json"]);
    assert_eq!(code, 0);
    assert!(list.is_array());
}

fn no_temp_files(dir: &std::path::Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.contains("tmp-patrol"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

#[test]
fn a_report_never_lands_on_the_database_or_another_database() {
    let env = Env::init();
    let db = env.db.to_str().unwrap().to_owned();
    for force in [false, true] {
        let mut c = env.cmd();
        c.args([
            "report", "--month", "2026-10", "--format", "html", "--out", &db,
        ]);
        if force {
            c.arg("--force");
        }
        c.assert()
            .code(2)
            .stderr(contains("patrol.gpkg").and(contains("database")));
        still_a_database(&env);
    }
    // Another database (here a second patrol database) is never replaced, even with --force.
    let other = Env::init();
    env.cmd()
        .args(["report", "--month", "2026-10", "--out"])
        .arg(&other.db)
        .arg("--force")
        .assert()
        .code(2)
        .stderr(contains("never writes over"));
    still_a_database(&other);
    no_temp_files(env.dir.path());
}

#[test]
fn a_report_replaces_an_existing_file_only_with_force() {
    let env = Env::init();
    let out = env.write("report.txt", "keep me");
    env.cmd()
        .args(["report", "--month", "2026-10", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("report.txt").and(contains("--force")));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    env.cmd()
        .args(["report", "--month", "2026-10", "--force", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_ne!(std::fs::read_to_string(&out).unwrap(), "keep me");
    // A new file needs no --force.
    env.cmd()
        .args(["report", "--month", "2026-10", "--out"])
        .arg(env.path("new.txt"))
        .assert()
        .success();
    // CSV tables in a folder: an existing table stops it before anything is written.
    let dir = env.path("tables");
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
    let before: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(!before.is_empty());
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
        .code(2)
        .stderr(contains("--force"));
    env.cmd()
        .args([
            "report",
            "--month",
            "2026-10",
            "--format",
            "csv",
            "--force",
            "--out-dir",
        ])
        .arg(&dir)
        .assert()
        .success();
    no_temp_files(env.dir.path());
    no_temp_files(&dir);
}

#[test]
fn an_export_never_replaces_a_database_and_other_files_only_with_force() {
    let env = Env::init();
    let other = Env::init();
    for force in [false, true] {
        let mut c = env.cmd();
        c.arg("export").arg("--out").arg(&other.db);
        if force {
            c.arg("--force");
        }
        c.assert().code(2).stderr(contains("patrol.gpkg"));
        still_a_database(&other);
    }
    let note = env.write("note.gpkg", "not a database");
    env.cmd()
        .arg("export")
        .arg("--out")
        .arg(&note)
        .assert()
        .code(2)
        .stderr(contains("note.gpkg").and(contains("--force")));
    assert_eq!(std::fs::read_to_string(&note).unwrap(), "not a database");
    env.cmd()
        .arg("export")
        .arg("--force")
        .arg("--out")
        .arg(&note)
        .assert()
        .success();
    // An export is a database: the next export does not replace it.
    env.cmd()
        .arg("export")
        .arg("--force")
        .arg("--out")
        .arg(&note)
        .assert()
        .code(2)
        .stderr(contains("never writes over"));
    no_temp_files(env.dir.path());
}

#[test]
fn the_demo_never_deletes_an_existing_database() {
    let env = Env::new();
    let dir = env.path("demo");
    env.cmd()
        .args(["demo", "--dir"])
        .arg(&dir)
        .assert()
        .success();
    let db = dir.join("thaplan.gpkg");
    let before = std::fs::read(&db).unwrap();
    for force in [false, true] {
        let mut c = env.cmd();
        c.args(["demo", "--dir"]).arg(&dir);
        if force {
            c.arg("--force");
        }
        c.assert()
            .code(2)
            .stderr(contains("thaplan.gpkg").and(contains("--dir")));
        assert_eq!(std::fs::read(&db).unwrap(), before);
    }
}
