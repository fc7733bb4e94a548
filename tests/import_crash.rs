//! Crash safety of a bulk import: `patrol import` of a folder, killed
//! (SIGKILL) at any moment, leaves every file whole or absent; importing the
//! folder again gets every file, once.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::Env;

const FILES: usize = 80;
const POINTS: usize = 400;
const WAYPOINTS: usize = 2;

/// Patrol `f`: one a day, its own line north, times ten seconds apart.
fn patrol(f: usize) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">"#,
    );
    let (day, lat0, lon0) = (
        f % 28 + 1,
        14.0 + (f % 10) as f64 * 0.01,
        102.0 + f as f64 * 0.01,
    );
    let month = f / 28 + 1;
    for w in 0..WAYPOINTS {
        let _ = write!(
            s,
            r#"<wpt lat="{lat0}" lon="{lon0}"><name>Snare {f}-{w}</name><time>2024-{month:02}-{day:02}T01:0{w}:00Z</time></wpt>"#
        );
    }
    s.push_str("<trk><trkseg>\n");
    for i in 0..POINTS {
        let t = 3600 + i * 10;
        let _ = writeln!(
            s,
            r#"<trkpt lat="{:.6}" lon="{lon0}"><ele>200</ele><time>2024-{month:02}-{day:02}T{:02}:{:02}:{:02}Z</time></trkpt>"#,
            lat0 + i as f64 * 1e-4,
            t / 3600,
            t % 3600 / 60,
            t % 60
        );
    }
    s.push_str("</trkseg></trk></gpx>\n");
    s
}

fn fresh_copy(from: &Path, to: &Path) {
    for suffix in ["", "-journal"] {
        let mut p = to.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    std::fs::copy(from, to).unwrap();
}

fn import(db: &Path, dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_patrol"))
        .arg("--db")
        .arg(db)
        .args(["--quiet", "import", "--team", "A"])
        .arg(dir)
        .env_remove("PATROL_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Every patrol is a whole file and nothing is left of any other: the file
/// names of the patrols held.
fn whole_files_only(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
    let mut stmt = conn
        .prepare(
            "SELECT p.source_file,
               (SELECT count(*) FROM patrol_versions v WHERE v.patrol_id = p.patrol_id),
               (SELECT count(*) FROM legs l WHERE l.patrol_id = p.patrol_id),
               (SELECT sum(points) FROM tracks t WHERE t.patrol_id = p.patrol_id),
               (SELECT count(*) FROM observations o WHERE o.patrol_id = p.patrol_id),
               (SELECT count(*) FROM leg_qc q WHERE q.patrol_id = p.patrol_id),
               (SELECT count(*) FROM leg_days d WHERE d.patrol_id = p.patrol_id)
             FROM patrols p ORDER BY p.source_file",
        )
        .unwrap();
    let rows: Vec<(String, i64, i64, i64, i64, i64, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (file, versions, legs, points, observations, qc, days) in &rows {
        assert_eq!(
            (*versions, *legs, *points, *observations, *qc, *days),
            (1, 1, POINTS as i64, WAYPOINTS as i64, 1, 1),
            "{file} is not whole"
        );
    }
    // Nothing of a file that is not held: no row without its patrol.
    for (table, key) in [
        ("tracks", "patrol_id"),
        ("legs", "patrol_id"),
        ("leg_versions", "patrol_id"),
        ("observations", "patrol_id"),
        ("observation_versions", "patrol_id"),
        ("leg_qc", "patrol_id"),
        ("leg_days", "patrol_id"),
    ] {
        assert_eq!(
            q(&format!(
                "SELECT count(*) FROM {table} WHERE {key} NOT IN (SELECT patrol_id FROM patrols)"
            )),
            0,
            "{table} holds rows of a file not imported"
        );
    }
    assert_eq!(
        q("SELECT count(*) FROM fix_samples WHERE leg_id NOT IN (SELECT leg_id FROM legs)"),
        0
    );
    assert_eq!(q("SELECT count(*) FROM patrol_versions"), rows.len() as i64);
    rows.into_iter().map(|r| r.0).collect()
}

#[test]
fn a_killed_bulk_import_leaves_whole_files_or_none() {
    let env = Env::init();
    let dir = env.path("gpx");
    std::fs::create_dir(&dir).unwrap();
    for f in 0..FILES {
        std::fs::write(dir.join(format!("p{f:03}.gpx")), patrol(f)).unwrap();
    }
    let before = env.db.clone();

    // The whole import, and how long it takes here.
    let after = env.path("after.gpkg");
    fresh_copy(&before, &after);
    let t = Instant::now();
    assert!(import(&after, &dir).wait().unwrap().success());
    let took = t.elapsed();
    assert_eq!(whole_files_only(&after).len(), FILES);

    let mut seed = u64::from(std::process::id()) ^ 0x2545_f491_4f6c_dd1d;
    let (mut none, mut some, mut all) = (0, 0, 0);
    for run in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let us = took.as_micros() as u64;
        let delay = Duration::from_micros(us / 10 + seed % (us * 9 / 10 + 1));
        let db = env.path(&format!("run{run}.gpkg"));
        fresh_copy(&before, &db);
        let mut child = import(&db, &dir);
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let held = whole_files_only(&db);
        match held.len() {
            0 => none += 1,
            n if n == FILES => all += 1,
            _ => some += 1,
        }
        // Again: the rest is imported, nothing twice.
        assert!(import(&db, &dir).wait().unwrap().success(), "run {run}");
        assert_eq!(whole_files_only(&db).len(), FILES, "run {run}");
        let _ = std::fs::remove_file(&db);
    }
    eprintln!(
        "killed imports: {none} left nothing, {some} some whole files, {all} every file (an import takes {took:?})"
    );
}
