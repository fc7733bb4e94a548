use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// A scratch directory with a database path in it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = dir.path().join("patrol.gpkg");
        Env { dir, db }
    }

    /// A fresh database for Thap Lan.
    pub fn init() -> Self {
        let env = Env::new();
        env.cmd()
            .args(["init", "--site", "Thap Lan", "--timezone", "Asia/Bangkok"])
            .assert()
            .success();
        env
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("patrol").expect("the patrol binary");
        c.arg("--db")
            .arg(&self.db)
            .arg("--quiet")
            .env_remove("PATROL_DB");
        c
    }

    /// Run and parse stdout as JSON, whatever the exit code.
    pub fn json(&self, args: &[&str]) -> (Value, i32) {
        let out = self.cmd().args(args).output().expect("runs");
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (v, out.status.code().unwrap_or(-1))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p
    }
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/samples")
        .join(rel)
}

/// A small GPX 1.1 file: one segment of (lat, lon, time) points and named waypoints.
pub fn gpx(
    points: &[(f64, f64, Option<&str>)],
    waypoints: &[(f64, f64, &str, Option<&str>)],
) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">"#,
    );
    for (lat, lon, name, time) in waypoints {
        let _ = write!(s, r#"<wpt lat="{lat}" lon="{lon}"><name>{name}</name>"#);
        if let Some(t) = time {
            let _ = write!(s, "<time>{t}</time>");
        }
        s.push_str("</wpt>\n");
    }
    s.push_str("<trk><trkseg>\n");
    for (lat, lon, time) in points {
        let _ = write!(s, r#"<trkpt lat="{lat}" lon="{lon}">"#);
        if let Some(t) = time {
            let _ = write!(s, "<time>{t}</time>");
        }
        s.push_str("</trkpt>\n");
    }
    s.push_str("</trkseg></trk></gpx>\n");
    s
}
