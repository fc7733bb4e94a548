//! Many files to a transaction: each file all or nothing, results handed
//! back only once durable, duplicates found inside a batch.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Batching, ImportOptions, ImportReport, Status};
use crate::edit::tests::{TempStore, temp_store};

/// Import options of a foot patrol of two, team Alpha (the store's tests share them).
pub(crate) fn opts() -> ImportOptions {
    ImportOptions {
        team: "Alpha".to_owned(),
        transport: patrol_core::Transport::Foot,
        members: 2,
        member_names: Vec::new(),
        leader: None,
        objective: None,
        date: None,
        assume_zone: None,
        patrol: None,
    }
}

/// A patrol of `points` fixes ten seconds apart from 01:00 on day `day` of
/// October 2026, walking north from `lat` at 4 km/h; one waypoint. `indent`
/// changes the bytes, not the fixes.
fn patrol_gpx(day: u32, lat: f64, points: usize, indent: &str) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">"#,
    );
    let _ = write!(
        s,
        r#"<wpt lat="{lat}" lon="102.1"><name>Snare</name><time>2026-10-{day:02}T01:01:00Z</time></wpt>"#
    );
    s.push_str("<trk><trkseg>\n");
    for i in 0..points {
        let t = 3600 + i * 10;
        let _ = writeln!(
            s,
            r#"{indent}<trkpt lat="{:.6}" lon="102.1"><time>2026-10-{day:02}T{:02}:{:02}:{:02}Z</time></trkpt>"#,
            lat + i as f64 * 0.0001,
            t / 3600,
            t % 3600 / 60,
            t % 60
        );
    }
    s.push_str("</trkseg></trk></gpx>\n");
    s
}

fn write(t: &TempStore, name: &str, text: &str) -> PathBuf {
    let dir = t.path().with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Import `files` in batches; every batch as handed to `durable`.
fn import(t: &mut TempStore, files: &[PathBuf], batching: Batching) -> Vec<Vec<ImportReport>> {
    let db = t.path().to_owned();
    let mut batches = Vec::new();
    t.store
        .import_files(files, &opts(), batching, &mut |_, _| {}, &mut |done| {
            // Durable: another connection sees every imported file already.
            let other = rusqlite::Connection::open(&db).unwrap();
            for r in done.iter().filter(|r| r.status == Status::Imported) {
                let held: i64 = other
                    .query_row(
                        "SELECT count(*) FROM patrols WHERE patrol_id = ?1",
                        [r.patrol_id.as_deref().unwrap()],
                        |row| row.get(0),
                    )
                    .unwrap();
                assert_eq!(held, 1, "{} reported before it was committed", r.file);
            }
            batches.push(done);
        })
        .unwrap();
    batches
}

fn count(t: &TempStore, sql: &str) -> i64 {
    t.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn statuses(batches: &[Vec<ImportReport>]) -> Vec<Status> {
    batches.iter().flatten().map(|r| r.status).collect()
}

fn three_at_a_time() -> Batching {
    Batching {
        files: 3,
        time: Duration::from_secs(3600),
    }
}

#[test]
fn files_are_committed_in_batches_and_reported_once_durable() {
    let mut t = temp_store();
    let files: Vec<PathBuf> = (1..=7)
        .map(|d| write(&t, &format!("p{d}.gpx"), &patrol_gpx(d, 14.0, 30, "")))
        .collect();
    let batches = import(&mut t, &files, three_at_a_time());
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(statuses(&batches), [Status::Imported; 7]);
    let order: Vec<&str> = batches.iter().flatten().map(|r| r.file.as_str()).collect();
    let given: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    assert_eq!(order, given);
    assert_eq!(count(&t, "SELECT count(*) FROM patrols"), 7);
    // Nothing is left open: the database takes a write of its own.
    assert!(t.conn().is_autocommit());

    // A batch closes on time too: with no time at all, one file a batch.
    let more: Vec<PathBuf> = (11..=12)
        .map(|d| write(&t, &format!("q{d}.gpx"), &patrol_gpx(d, 14.0, 30, "")))
        .collect();
    let batches = import(
        &mut t,
        &more,
        Batching {
            files: 100,
            time: Duration::ZERO,
        },
    );
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
}

#[test]
fn a_failing_file_rolls_back_alone_and_duplicates_are_found_inside_a_batch() {
    let mut t = temp_store();
    let good = write(&t, "a.gpx", &patrol_gpx(1, 14.0, 30, ""));
    // Far away, and broken after its first segment was written.
    let mut broken = patrol_gpx(2, 40.0, 30, "");
    broken.insert_str(
        broken.find("</trkseg>").unwrap(),
        "</trkseg><trkseg><trkpt lat=\"41\" lon=\"102\"><time>2026-10-02T09:00:00Z</time></trkpt><junk",
    );
    let bad = write(&t, "b.gpx", &broken);
    let other = write(&t, "c.gpx", &patrol_gpx(3, 14.0, 30, ""));
    let same_bytes = write(&t, "d.gpx", &patrol_gpx(1, 14.0, 30, ""));
    let same_fixes = write(&t, "e.gpx", &patrol_gpx(3, 14.0, 30, "  "));
    let files = [good, bad.clone(), other, same_bytes, same_fixes];
    let batches = import(
        &mut t,
        &files,
        Batching {
            files: 10,
            time: Duration::from_secs(3600),
        },
    );
    assert_eq!(batches.len(), 1, "one batch");
    let r = &batches[0];
    assert_eq!(
        statuses(&batches),
        [
            Status::Imported,
            Status::Failed,
            Status::Imported,
            Status::Duplicate,
            Status::Duplicate
        ]
    );
    assert!(r[1].error.as_deref().unwrap().contains("b.gpx"), "{r:?}");
    assert_eq!(r[3].patrol_id, r[0].patrol_id, "the same bytes as a.gpx");
    assert_eq!(r[4].patrol_id, r[2].patrol_id, "the same fixes as c.gpx");
    // Nothing of the failed file, nor of the duplicates, is left.
    assert_eq!(count(&t, "SELECT count(*) FROM patrols"), 2);
    assert_eq!(count(&t, "SELECT count(*) FROM patrol_versions"), 2);
    assert_eq!(count(&t, "SELECT count(*) FROM legs"), 2);
    assert_eq!(count(&t, "SELECT count(*) FROM observations"), 2);
    assert_eq!(count(&t, "SELECT sum(points) FROM tracks"), 60);
    assert_eq!(count(&t, "SELECT count(*) FROM leg_qc"), 2);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM fix_samples WHERE leg_id NOT IN (SELECT leg_id FROM legs)"
        ),
        0
    );
    // The layer's extent holds the imported tracks, not the failed one's.
    let max_y: f64 = t
        .conn()
        .query_row(
            "SELECT max_y FROM gpkg_contents WHERE table_name = 'tracks'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!((14.0..15.0).contains(&max_y), "{max_y}");

    // The same files again: each a duplicate (the first two unread), the
    // broken one failing as before.
    let again = import(&mut t, &files, three_at_a_time());
    assert_eq!(
        statuses(&again),
        [
            Status::Duplicate,
            Status::Failed,
            Status::Duplicate,
            Status::Duplicate,
            Status::Duplicate
        ]
    );
    assert_eq!(count(&t, "SELECT count(*) FROM patrols"), 2);
    let _ = std::fs::remove_dir_all(bad.parent().unwrap());
}

#[test]
fn a_file_of_waypoints_joins_a_patrol_of_the_same_batch() {
    let mut t = temp_store();
    let track = write(&t, "track.gpx", &patrol_gpx(5, 14.0, 90, ""));
    let snares = write(
        &t,
        "snares.gpx",
        r#"<?xml version="1.0"?><gpx version="1.1" creator="t"><wpt lat="14.01" lon="102.1"><name>Snare 2</name><time>2026-10-05T01:10:00Z</time></wpt></gpx>"#,
    );
    let batches = import(&mut t, &[track, snares.clone()], three_at_a_time());
    let r = &batches[0];
    assert_eq!(statuses(&batches), [Status::Imported, Status::Imported]);
    assert_eq!(r[1].patrol_id, r[0].patrol_id);
    assert_eq!(r[1].observations, 1);
    assert_eq!(count(&t, "SELECT count(*) FROM observations"), 2);
    let _ = std::fs::remove_dir_all(snares.parent().unwrap());
}

#[test]
fn one_big_file_streams_through_both_threads_unchanged() {
    // More events than a hand-over batch, in several segments: the pieces
    // and figures are those of the file, whichever thread did what.
    let mut t = temp_store();
    let mut s = patrol_gpx(6, 14.0, 5000, "");
    for _ in 0..2 {
        let at = s.rfind("</trkseg>").unwrap();
        let more: String = patrol_gpx(7, 15.0, 3000, "")
            .lines()
            .filter(|l| l.contains("<trkpt"))
            .flat_map(|l| [l, "\n"])
            .collect();
        s.insert_str(at, &format!("</trkseg><trkseg>\n{more}"));
    }
    let file = write(&t, "big.gpx", &s);
    let mut seen = Vec::new();
    let report = t
        .store
        .import_gpx(&file, &opts(), &mut |points| seen.push(points))
        .unwrap();
    assert_eq!(report.status, Status::Imported);
    assert_eq!((report.track_points, report.segments), (11_000, 3));
    assert_eq!(seen.last(), Some(&11_000));
    assert_eq!(
        count(&t, "SELECT count(*) FROM tracks"),
        4,
        "4,096 points a piece"
    );
    assert_eq!(count(&t, "SELECT sum(points) FROM tracks"), 11_001);
    // Again: a duplicate, found by its digest before its points are read.
    let again = t.store.import_gpx(&file, &opts(), &mut |_| {}).unwrap();
    assert_eq!(again.status, Status::Duplicate);
    assert_eq!(again.patrol_id, report.patrol_id);
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

#[test]
fn a_missing_file_fails_alone() {
    let mut t = temp_store();
    let good = write(&t, "a.gpx", &patrol_gpx(1, 14.0, 30, ""));
    let missing = Path::new("/nonexistent/patrol.gpx").to_owned();
    let batches = import(&mut t, &[missing, good.clone()], three_at_a_time());
    assert_eq!(statuses(&batches), [Status::Failed, Status::Imported]);
    let _ = std::fs::remove_dir_all(good.parent().unwrap());
}
