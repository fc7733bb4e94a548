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

#[allow(clippy::case_sensitive_file_extension_comparisons)] // our own lower-case names
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
    // Its own previous run, untouched since, it replaces.
    env.cmd()
        .args(["demo", "--dir"])
        .arg(&dir)
        .assert()
        .success();
    // Once someone has used its database, never.
    let db = dir.join("thaplan.gpkg");
    let gpx = env.write(
        "t.gpx",
        &crate::util::gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.21, 102.1, Some("2026-10-04T01:10:00Z")),
            ],
            &[],
        ),
    );
    crate::util::Env {
        dir: tempfile::tempdir().unwrap(),
        db: db.clone(),
    }
    .cmd()
    .args(["import", "--team", "A"])
    .arg(&gpx)
    .assert()
    .success();
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
    // A database the demo did not make is never replaced either.
    let other = env.path("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(&db, other.join("thaplan.gpkg")).unwrap();
    env.cmd()
        .args(["demo", "--dir"])
        .arg(&other)
        .assert()
        .code(2);
}

/// A GPX file of `n` track points a second apart (about 100 bytes each).
fn big_gpx(n: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>"#,
    );
    for i in 0..n {
        let lat = 14.0 + (i % 20_000) as f64 * 1e-5;
        let lon = 102.0 + (i / 20_000) as f64 * 1e-3;
        let (h, m, sec) = (i / 3600 % 10, i / 60 % 60, i % 60);
        let _ = writeln!(
            s,
            r#"<trkpt lat="{lat:.7}" lon="{lon:.7}"><time>2026-10-05T0{h}:{m:02}:{sec:02}Z</time></trkpt>"#
        );
    }
    s.push_str("</trkseg></trk></gpx>\n");
    s
}

#[test]
fn writers_wait_for_each_other_instead_of_failing_locked() {
    let env = Env::init();
    let small = env.write(
        "small.gpx",
        &crate::util::gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &[],
        ),
    );
    let (r, code) = env.json(&[
        "import",
        "--team",
        "Alpha",
        "--json",
        small.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    let big = env.write("big.gpx", &big_gpx(30_000));

    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_patrol"));
    let import = std::process::Command::new(&bin)
        .arg("--db")
        .arg(&env.db)
        .args(["--quiet", "import", "--team", "Bravo"])
        .arg(&big)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let observers: Vec<_> = (0..4)
        .map(|t| {
            let (bin, db, patrol) = (bin.clone(), env.db.clone(), patrol.clone());
            std::thread::spawn(move || {
                (0..6)
                    .map(|i| {
                        std::process::Command::new(&bin)
                            .arg("--db")
                            .arg(&db)
                            .args(["observe", "--patrol", &patrol, "--category", "snare"])
                            .args(["--at", "14.25,102.1", "--note", &format!("{t}-{i}")])
                            .output()
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut failures = Vec::new();
    for o in observers.into_iter().flat_map(|h| h.join().unwrap()) {
        if !o.status.success() {
            failures.push(String::from_utf8_lossy(&o.stderr).into_owned());
        }
    }
    let imported = import.wait_with_output().unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(
        failures.is_empty(),
        "{} observe runs failed: {failures:?}",
        failures.len()
    );
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    assert_eq!(shown["observations"].as_array().unwrap().len(), 24);
    let (list, _) = env.json(&["patrols", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn text_from_files_reaches_the_terminal_escaped() {
    let env = Env::init();
    let f = env.write(
        "p.gpx",
        &crate::util::gpx(
            &[
                (14.2, 102.1, Some("2026-10-04T01:00:00Z")),
                (14.3, 102.1, Some("2026-10-04T03:00:00Z")),
            ],
            &[],
        ),
    );
    let evil_team = "\u{1b}[2J\u{1b}]0;owned\u{7}Red\rTeam";
    let (r, _) = env.json(&[
        "import",
        "--team",
        evil_team,
        "--leader",
        "\u{1b}[31mboss",
        "--json",
        f.to_str().unwrap(),
    ]);
    let patrol = r[0]["patrol_id"].as_str().unwrap().to_owned();
    env.cmd()
        .args(["observe", "--patrol", &patrol, "--category", "snare"])
        .args([
            "--at",
            "14.25,102.1",
            "--note",
            "wire\u{1b}[1A\u{202e}snare",
        ])
        .assert()
        .success();
    let raw = |c: char| c.is_control() && c != '\n' || c == '\u{202e}';
    for args in [
        vec!["patrols"],
        vec!["show", patrol.as_str()],
        vec!["report", "--month", "2026-10"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.chars().any(raw),
            "{args:?} printed raw control characters: {text:?}"
        );
        assert!(text.contains("\\x1b"), "{args:?}: {text}");
    }
    // JSON keeps the text as it is (escaped by JSON itself).
    let (shown, _) = env.json(&["show", "--json", &patrol]);
    assert_eq!(shown["team"], evil_team);
}

#[test]
fn a_huge_description_is_imported_cut_to_a_bounded_size() {
    let env = Env::init();
    let path = env.path("huge.gpx");
    {
        use std::io::Write as _;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        write!(
            f,
            r#"<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<wpt lat="14.2" lon="102.1"><name>Snare</name><time>2026-10-04T01:30:00Z</time><desc>"#
        )
        .unwrap();
        let chunk = "snare wire ".repeat(1000);
        for _ in 0..=(50_000_000 / chunk.len()) {
            f.write_all(chunk.as_bytes()).unwrap();
        }
        writeln!(f, "</desc></wpt>").unwrap();
        writeln!(
            f,
            r#"<trk><trkseg><trkpt lat="14.2" lon="102.1"><time>2026-10-04T01:00:00Z</time></trkpt>
<trkpt lat="14.3" lon="102.1"><time>2026-10-04T03:00:00Z</time></trkpt></trkseg></trk></gpx>"#
        )
        .unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() > 50_000_000);
    let (r, code) = env.json(&[
        "import",
        "--team",
        "Alpha",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r[0]["status"], "imported");
    let cut: Vec<&serde_json::Value> = r[0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "text_cut")
        .collect();
    assert_eq!(cut.len(), 1, "{r}");
    assert!(
        cut[0]["message"].as_str().unwrap().contains("line 2"),
        "{r}"
    );
    let patrol = r[0]["patrol_id"].as_str().unwrap();
    let (shown, _) = env.json(&["show", "--json", patrol]);
    let note = shown["observations"][0]["note"].as_str().unwrap();
    assert!(note.starts_with("snare wire snare"));
    assert!(note.len() <= 64 * 1024, "{}", note.len());
    assert!(note.len() > 60_000, "{}", note.len());
}

fn small_gpx(env: &Env, name: &str, day: u32) -> std::path::PathBuf {
    env.write(
        name,
        &crate::util::gpx(
            &[
                (14.2, 102.1, Some(&format!("2026-10-{day:02}T01:00:00Z"))),
                (14.3, 102.1, Some(&format!("2026-10-{day:02}T03:00:00Z"))),
            ],
            &[],
        ),
    )
}

#[test]
fn an_export_removes_what_a_killed_export_left() {
    let env = Env::init();
    let out = env.path("out.gpkg");
    let stale = env.write(".out.gpkg.4194999-0192abc.tmp", "half an export");
    let fresh = env.write(".out.gpkg.4194998-0192def.tmp", "an export under way");
    let other = env.write(".other.gpkg.4194999-0192abc.tmp", "not ours");
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for p in [&stale, &other] {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
    }
    env.cmd()
        .arg("export")
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert!(!stale.exists());
    assert!(fresh.exists() && other.exists());
}

#[test]
fn a_day_that_does_not_exist_is_named() {
    let env = Env::init();
    let f = small_gpx(&env, "p.gpx", 4);
    let (r, _) = env.json(&["import", "--team", "Alpha", "--json", f.to_str().unwrap()]);
    let patrol = r[0]["patrol_id"].as_str().unwrap();
    env.cmd()
        .args([
            "observe",
            "--patrol",
            patrol,
            "--category",
            "snare",
            "--at",
            "14.2,102.1",
        ])
        .args(["--time", "2026-02-30T10:00:00"])
        .assert()
        .code(2)
        .stderr(contains("no day 2026-02-30").and(contains("trailing").not()));
}

#[cfg(unix)]
#[test]
fn a_read_only_database_is_one_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::init();
    let a = small_gpx(&env, "a.gpx", 4);
    let b = small_gpx(&env, "b.gpx", 5);
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = env
        .cmd()
        .args(["import", "--team", "Alpha"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches("read-only").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Reading still works.
    env.cmd().arg("patrols").assert().success();
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn a_folder_imports_its_gpx_files() {
    let env = Env::init();
    let dir = env.path("gps");
    std::fs::create_dir(&dir).unwrap();
    let a = small_gpx(&env, "a.gpx", 4);
    let b = small_gpx(&env, "b.gpx", 5);
    std::fs::rename(a, dir.join("a.gpx")).unwrap();
    std::fs::rename(b, dir.join("B.GPX")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a track").unwrap();
    let (r, code) = env.json(&["import", "--team", "Alpha", "--json", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r.as_array().unwrap().len(), 2, "{r}");
    env.cmd()
        .args(["import", "--help"])
        .assert()
        .success()
        .stdout(contains("folder"));
}

#[test]
fn formats_and_transports_are_listed_and_checked_by_the_grammar() {
    let env = Env::init();
    env.cmd()
        .args(["report", "--help"])
        .assert()
        .success()
        .stdout(contains("html").and(contains("csv")));
    env.cmd()
        .args(["import", "--help"])
        .assert()
        .success()
        .stdout(contains("motorbike").and(contains("aircraft")));
    env.cmd()
        .args(["report", "--month", "2026-10", "--format", "htm"])
        .assert()
        .code(2)
        .stderr(contains("invalid value").and(contains("html")));
    let f = small_gpx(&env, "p.gpx", 4);
    env.cmd()
        .args(["import", "--team", "A", "--transport", "bike"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(contains("invalid value"));
    // The spellings accepted before still are (any case).
    let (r, code) = env.json(&[
        "import",
        "--team",
        "A",
        "--transport",
        "Boat",
        "--json",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{r}");
    let patrol = r[0]["patrol_id"].as_str().unwrap();
    env.cmd()
        .args(["edit", "patrol", patrol, "--transport", "VEHICLE"])
        .assert()
        .success();
    env.cmd()
        .args(["report", "--month", "2026-10", "--format", "JSON"])
        .assert()
        .success();
}
