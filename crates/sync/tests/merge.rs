//! Merging real exports: idempotence, deltas, conflicts, concurrency, copies.

#![allow(clippy::many_single_char_names)] // d = dir, a b c = devices: short on purpose

mod common;

use common::*;
use patrol_store::Store;
use patrol_store::edit::{ObservationEdit, PatrolEdit};
use patrol_store::records::Kind;
use patrol_sync::{Limits, MergeStatus};

#[test]
fn merging_twice_is_a_duplicate_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, p) = outpost(d, "a", 300, 2, 1);
    observe(&mut a, &p, 14.5);
    let f = export(&mut a, d, "a-out", false);
    let mut c = init(d, "central");
    let r = merge_ok(&mut c, &f);
    assert_eq!(r.status, MergeStatus::Merged);
    // A patrol, a leg, three observations; the outpost's definitions of the
    // default model are new versions here, but define nothing new.
    assert_eq!(r.counts.records_added, 1 + 1 + 3);
    let definitions = count(&a, "SELECT count(*) FROM model_versions");
    assert!(definitions > 10, "{definitions}");
    assert_eq!(r.counts.new_versions, 5 + definitions as u64);
    assert_eq!((r.counts.records_changed, r.counts.conflicts), (0, 0));
    assert_eq!(r.counts.track_pieces, 1);
    let before = digest(&c);
    let r2 = merge_ok(&mut c, &f);
    assert_eq!(r2.status, MergeStatus::Duplicate);
    assert_eq!(digest(&c), before);
    // A byte-different file with the same rows: merged, but adds nothing.
    let f2 = export(&mut a, d, "a-out2", false);
    let r3 = merge_ok(&mut c, &f2);
    assert_eq!(
        (r3.status, r3.counts.new_versions, r3.counts.track_pieces),
        (MergeStatus::Merged, 0, 0)
    );
    assert_eq!(digest(&c), before);
    assert_eq!(patrol_sync::ledger(&c).unwrap().len(), 2);
    // Origin survives: the versions say device a, site a.
    let n = count(
        &c,
        &format!(
            "SELECT count(*) FROM observation_versions WHERE device_id = '{}' AND site_id = '{}'",
            a.device(),
            a.site().id
        ),
    );
    assert_eq!(n, 3);
    // The patrol is listed centrally under a's site.
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT count(*) FROM patrols WHERE site_id = '{}'",
                a.site().id
            )
        ),
        1
    );
    let checks = c.check().unwrap();
    assert!(
        checks
            .iter()
            .all(|f| f.severity != patrol_store::check::Severity::Problem),
        "{checks:?}"
    );
}

#[test]
fn deltas_after_a_full_export_converge_to_the_full_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, p) = outpost(d, "a", 200, 1, 1);
    let full = export(&mut a, d, "full", false);
    let o = observe(&mut a, &p, 14.6);
    a.edit_observation(
        &o,
        &ObservationEdit {
            note: Some("seen".into()),
            ..Default::default()
        },
    )
    .unwrap();
    import(&mut a, d, "a2", 5000, 0, 2);
    let delta1 = export(&mut a, d, "delta1", true);
    a.edit_patrol(
        &p,
        &PatrolEdit {
            leader: Some("Nok".into()),
            members: Some(4),
            ..Default::default()
        },
    )
    .unwrap();
    let delta2 = export(&mut a, d, "delta2", true);
    let empty = export(&mut a, d, "delta3", true);
    let everything = export(&mut a, d, "everything", false);

    let mut c1 = init(d, "c1");
    let mut c2 = copy_store(c1.path(), &d.join("c2.gpkg"));
    for f in [&full, &delta1, &delta2, &empty] {
        merge_ok(&mut c1, f);
    }
    merge_ok(&mut c2, &everything);
    assert_eq!(digest(&c1), digest(&c2));
    // Nothing new since the last export: an empty delta.
    let r = patrol_sync::export(&mut a, &d.join("delta4"), true, true).unwrap();
    assert_eq!((r.versions, r.track_pieces), (0, 0));
    // Deltas merged in the wrong order converge too.
    let mut c3 = copy_store(&d.join("c2.gpkg"), &d.join("c3.gpkg"));
    merge_ok(&mut c3, &delta2);
    merge_ok(&mut c3, &delta1);
    merge_ok(&mut c3, &full);
    assert_eq!(digest(&c3), digest(&c2));
}

#[test]
fn a_relayed_delta_carries_rows_merged_since_the_last_export() {
    // b exports after merging a file of older rows: the delta must carry them.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, _) = outpost(d, "a", 50, 1, 1);
    let fa = export(&mut a, d, "fa", false);
    let (mut b, _) = outpost(d, "b", 50, 1, 2);
    export(&mut b, d, "fb0", false);
    merge_ok(&mut b, &fa);
    let fb = export(&mut b, d, "fb1", true);
    let mut c = init(d, "c");
    merge_ok(&mut c, &fb);
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT count(*) FROM patrols WHERE origin_device = '{}'",
                a.device()
            )
        ),
        1
    );
}

#[test]
fn conflicting_edits_are_listed_shown_newest_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, p) = outpost(d, "a", 20, 0, 1);
    let o = observe(&mut a, &p, 14.5);
    let fa = export(&mut a, d, "fa0", false);
    let mut b = init(d, "b");
    merge_ok(&mut b, &fa);
    let va = a
        .edit_observation(
            &o,
            &ObservationEdit {
                note: Some("from a".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let vb = b
        .edit_observation(
            &o,
            &ObservationEdit {
                note: Some("from b".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let mut c = init(d, "c");
    let fa1 = export(&mut a, d, "fa1", false);
    let fb1 = export(&mut b, d, "fb1", false);
    merge_ok(&mut c, &fa1);
    let r = merge_ok(&mut c, &fb1);
    assert_eq!(r.counts.conflicts, 1);
    let list = patrol_sync::conflicts(&c).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].kind, "observation");
    assert_eq!(list[0].record_id, o);
    let mut heads: Vec<&str> = list[0]
        .heads
        .iter()
        .map(|h| h.version_id.as_str())
        .collect();
    heads.sort_unstable();
    let mut want = vec![va.as_str(), vb.as_str()];
    want.sort_unstable();
    assert_eq!(heads, want);
    // Shown: the newest by (hlc, device, version): b edited last.
    let shown = list[0].heads.iter().find(|h| h.shown).unwrap();
    assert_eq!(shown.version_id, vb);
    assert!(shown.summary.contains("from b"), "{}", shown.summary);
    let current: String = value(
        &c,
        &format!("SELECT version_id FROM observations WHERE observation_id = '{o}'"),
    );
    assert_eq!(current, vb);
    assert_eq!(count(&c, "SELECT heads FROM observations"), 2);

    // Resolve centrally, keeping a's; the resolution goes back to both devices.
    c.resolve_conflict(Kind::Observation, &o, &va).unwrap();
    assert!(patrol_sync::conflicts(&c).unwrap().is_empty());
    let fc = export(&mut c, d, "fc", false);
    merge_ok(&mut a, &fc);
    merge_ok(&mut b, &fc);
    for s in [&a, &b, &c] {
        assert!(patrol_sync::conflicts(s).unwrap().is_empty());
        let note: String = value(s, "SELECT note FROM observations");
        assert_eq!(note, "from a");
    }
    assert_eq!(digest(&a), {
        // a and b hold the same records now (their own category rows differ in origin only).
        let fb2 = export(&mut b, d, "fb2", false);
        merge_ok(&mut a, &fb2);
        digest(&a)
    });
}

#[test]
fn two_merges_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let mut files = Vec::new();
    for (i, name) in ["a", "b"].iter().enumerate() {
        let mut s = init(&d, name);
        import(&mut s, &d, &format!("{name}1"), 3000, 3, i as u64 + 1);
        files.push(export(&mut s, &d, &format!("{name}-out"), false));
    }
    let central = init(&d, "c").path().to_owned();
    let handles: Vec<_> = files
        .into_iter()
        .map(|f| {
            let central = central.clone();
            std::thread::spawn(move || {
                let mut s = Store::open(&central).unwrap();
                patrol_sync::merge(&mut s, &f, &Limits::default()).unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().status, MergeStatus::Merged);
    }
    let c = Store::open(&central).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM patrols"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM observations"), 6);
    assert_eq!(patrol_sync::ledger(&c).unwrap().len(), 2);
}

#[test]
fn a_copied_database_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, p) = outpost(d, "a", 20, 1, 1);
    // Someone copies a's database to a second laptop; both go on working.
    let mut copy = copy_store(a.path(), &d.join("a-copy.gpkg"));
    observe(&mut a, &p, 14.1);
    std::thread::sleep(std::time::Duration::from_millis(5));
    observe(&mut copy, &p, 14.2);
    let fa = export(&mut a, d, "fa", false);
    let fcopy = export(&mut copy, d, "fcopy", false);
    let mut c = init(d, "c");
    merge_ok(&mut c, &fa);
    // Not refused (that would block the device for good): the row of a's
    // that the copy's file lacks is listed as disputed.
    let r = merge_ok(&mut c, &fcopy);
    assert_eq!(r.counts.quarantined, 1);
    let q = c.quarantined(false).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].table, "observation_versions");
    assert!(q[0].reason.starts_with("disputed"), "{}", q[0].reason);
    // Listed once, however many of the device's files show it.
    let fcopy2 = export(&mut copy, d, "fcopy2", false);
    assert_eq!(merge_ok(&mut c, &fcopy2).counts.quarantined, 0);

    // A file of a database merged into itself (or a copy of it) is refused too.
    let e = patrol_sync::merge(&mut a, &fa, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("this database's own id"), "{e}");
}

#[test]
fn a_file_of_the_previous_schema_is_upgraded_on_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, _) = outpost(d, "a", 20, 1, 1);
    let f = export(&mut a, d, "fa", false);
    rewrite(
        &f,
        "DROP TABLE ledger; DROP TABLE quarantine; DROP INDEX patrol_versions_device; DROP INDEX leg_versions_device;
             DROP INDEX observation_versions_device; DROP INDEX tracks_device; DROP INDEX site_boundaries_device;
             DROP INDEX observations_time; DROP INDEX leg_days_site_date; DROP INDEX leg_days_patrol; DROP INDEX tracks_patrol_time;
             DROP TABLE qc_settings; DROP TABLE leg_qc; DROP TABLE fix_marks; DROP TABLE fix_samples;
             ALTER TABLE leg_versions DROP COLUMN date; ALTER TABLE leg_versions DROP COLUMN fix_overrides;
             ALTER TABLE legs DROP COLUMN date; ALTER TABLE legs DROP COLUMN fix_overrides;
             ALTER TABLE observation_versions DROP COLUMN attributes; ALTER TABLE observations DROP COLUMN attributes;
             DROP TABLE model_versions; DROP TABLE model_definitions; DROP TABLE users;
             DELETE FROM patrol_migrations WHERE version >= 2;",
    );
    let original = std::fs::read(&f).unwrap();
    let mut c = init(d, "c");
    let r = merge_ok(&mut c, &f);
    assert_eq!(r.status, MergeStatus::Merged);
    assert_eq!(count(&c, "SELECT count(*) FROM observations"), 1);
    // The leg's quality control is derived here, from its track.
    assert_eq!(count(&c, "SELECT count(*) FROM leg_qc"), 1);
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM leg_qc q JOIN legs l USING (leg_id) WHERE q.version_id = l.version_id"
        ),
        1
    );
    assert_eq!(
        std::fs::read(&f).unwrap(),
        original,
        "the incoming file is never written"
    );
}

#[test]
fn lying_derived_rows_are_derived_again_from_the_track() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, _) = outpost(d, "a", 300, 1, 3);
    let honest = export(&mut a, d, "honest", false);
    let liar = rewritten(
        &honest,
        &d.join("liar.gpkg"),
        "UPDATE leg_days SET length_m = 1e300, seconds = 1e308, points = 9223372036854775807;
             UPDATE leg_qc SET length_m = 1e300, raw_length_m = 1e300, warnings = '[]';
             INSERT INTO leg_days SELECT leg_id, '1999-01-01', patrol_id, site_id, 1, 5e6, 86400, 86400 FROM leg_qc;
             DELETE FROM fix_samples;",
    );
    let figures = |s: &Store| -> (i64, i64, i64, i64) {
        row(
            s,
            "SELECT count(*), CAST(sum(length_m) AS INTEGER), CAST(sum(seconds) AS INTEGER), sum(points) FROM leg_days",
        )
    };
    let mut c = init(d, "c");
    merge_ok(&mut c, &liar);
    assert_eq!(figures(&c), figures(&a), "central derives its own figures");
    let samples = |s: &Store| count(s, "SELECT count(*) FROM fix_samples");
    assert_eq!(samples(&c), samples(&a));
    // The honest file after the liar changes nothing.
    let before = digest(&c);
    merge_ok(&mut c, &honest);
    assert_eq!(digest(&c), before);
}

/// Versions whose parents form a cycle leave a record with no head: it
/// vanishes, or not, depending on merge order. Refused, whether the cycle is
/// in the file or closes with versions already here; a record that has no
/// head anyway is listed as a conflict and can be resolved.
#[test]
fn parent_cycles_are_refused_and_a_headless_record_is_a_conflict() {
    use patrol_core::VersionId;
    use patrol_store::records::{self, VersionMeta};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, p) = outpost(d, "a", 20, 0, 1);
    let o = observe(&mut a, &p, 14.5);
    let v0: String = value(&a, "SELECT version_id FROM observation_versions");
    let content = patrol_store::edit::load_observation(a.conn(), &v0).unwrap();
    let (v1, v2): (VersionId, VersionId) = (patrol_store::new_id(), patrol_store::new_id());
    let meta = |a: &Store, id: VersionId, parents: Vec<VersionId>| VersionMeta {
        version_id: id,
        parents,
        hlc: patrol_store::next_hlc(a.conn()).unwrap(),
        device: a.device(),
        site: a.site().id,
        deleted: false,
    };
    // v1 follows v0 and v2 (not made yet): a proper head for now.
    let m1 = meta(&a, v1, vec![v0.parse().unwrap(), v2]);
    records::insert_observation(a.conn(), &m1, &content).unwrap();
    let f1 = export(&mut a, d, "f1", false);
    let mut c = init(d, "c");
    merge_ok(&mut c, &f1);
    // v2 follows v1: a cycle.
    let m2 = meta(&a, v2, vec![v1]);
    records::insert_observation(a.conn(), &m2, &content).unwrap();
    let delta = export(&mut a, d, "f2-delta", true);
    let full = export(&mut a, d, "f2-full", false);
    for f in [&delta, &full] {
        let before = digest(&c);
        let e = patrol_sync::merge(&mut c, f, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
        assert!(e.to_string().contains(&v1.to_string()), "{e}");
        assert_eq!(digest(&c), before);
    }
    let mut fresh = init(d, "fresh");
    let e = patrol_sync::merge(&mut fresh, &full, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("cycle"), "{e}");

    // On a, where the cycle was made, the record is a conflict, not invisible.
    let list = patrol_sync::conflicts(&a).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].record_id, o);
    assert_eq!(count(&a, "SELECT count(*) FROM observations"), 1);
    a.resolve_conflict(Kind::Observation, &o, &v2.to_string())
        .unwrap();
    assert!(patrol_sync::conflicts(&a).unwrap().is_empty());
}

/// The office sets a boundary, then outposts join (`init --join`): the
/// boundary row names the office's device, so the outposts must carry that
/// device's description, or their files are refused everywhere but the
/// office. Every topology the docs promise, in any order.
#[test]
fn outposts_joined_after_the_boundary_merge_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut office = init(d, "office");
    set_boundary(&mut office);
    let mut p1 = Store::init_joining(&d.join("p1.gpkg"), office.path()).unwrap();
    let mut p2 = Store::init_joining(&d.join("p2.gpkg"), office.path()).unwrap();
    import(&mut p1, d, "p1-1", 30, 1, 1);
    import(&mut p2, d, "p2-1", 30, 1, 2);
    let f1 = export(&mut p1, d, "f1", false);
    let f2 = export(&mut p2, d, "f2", false);
    let mut region = init(d, "region");
    let mut region2 = init(d, "region2");
    // outpost -> region, directly, before the office's file.
    merge_ok(&mut region, &f1);
    // outpost -> outpost.
    merge_ok(&mut p2, &f1);
    merge_ok(&mut p1, &f2);
    // outpost -> office.
    merge_ok(&mut office, &f2);
    let fo = export(&mut office, d, "fo", false);
    // office -> region.
    merge_ok(&mut region, &fo);
    // region -> region, and an outpost's relayed file.
    let fr = export(&mut region, d, "fr", false);
    merge_ok(&mut region2, &fr);
    let fp2 = export(&mut p2, d, "fp2", false);
    merge_ok(&mut region2, &fp2);
    merge_ok(&mut region, &fp2);
    for s in [&region, &region2, &p1, &p2] {
        assert_eq!(count(s, "SELECT count(*) FROM patrols"), 2);
        assert_eq!(count(s, "SELECT count(*) FROM site_boundaries"), 1);
        assert_eq!(
            count(
                s,
                "SELECT count(*) FROM site_boundaries b WHERE NOT EXISTS
                   (SELECT 1 FROM devices v WHERE v.device_id = b.device_id)"
            ),
            0
        );
    }
}

/// An outpost joined by an older patrol lacks the boundary device's
/// description; its exports describe it anyway.
#[test]
fn an_outpost_joined_by_an_older_patrol_still_exports_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut office = init(d, "office");
    set_boundary(&mut office);
    let mut p1 = Store::init_joining(&d.join("p1.gpkg"), office.path()).unwrap();
    p1.conn()
        .execute(
            "DELETE FROM devices WHERE device_id = ?1",
            [office.device().to_string()],
        )
        .unwrap();
    import(&mut p1, d, "p1-1", 30, 1, 1);
    let f1 = export(&mut p1, d, "f1", false);
    let mut region = init(d, "region");
    merge_ok(&mut region, &f1);
    assert_eq!(count(&region, "SELECT count(*) FROM site_boundaries"), 1);
}

/// One forged row (outpost 2's file stamps a row with outpost 1's device
/// id) used to block outpost 1 for good: every full export of it was refused
/// as a copied database. Now outpost 1's files merge, and the forged row is
/// listed as disputed.
#[test]
fn one_forged_row_does_not_block_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, pa) = outpost(d, "a", 20, 1, 1);
    let (mut b, pb) = outpost(d, "b", 20, 1, 2);
    observe(&mut b, &pb, 14.4);
    let fb = export(&mut b, d, "fb", false);
    let forged_id: String = {
        let conn = rusqlite::Connection::open(&fb).unwrap();
        conn.execute(
            "UPDATE observation_versions SET device_id = ?1 WHERE lat = 14.4",
            [a.device().to_string()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO devices VALUES (?1, ?2, '2024-01-01T00:00:00Z')",
            [a.device().to_string(), a.site().id.to_string()],
        )
        .unwrap();
        conn.query_row(
            "SELECT version_id FROM observation_versions WHERE device_id = ?1",
            [a.device().to_string()],
            |r| r.get(0),
        )
        .unwrap()
    };
    redigest(&fb);
    let mut c = init(d, "c");
    merge_ok(&mut c, &fb);
    // a goes on working, and its full exports merge.
    observe(&mut a, &pa, 14.6);
    let fa = export(&mut a, d, "fa", false);
    let r = merge_ok(&mut c, &fa);
    assert_eq!(r.status, MergeStatus::Merged);
    assert_eq!(r.counts.quarantined, 1);
    let q = c.quarantined(false).unwrap();
    assert_eq!(q[0].row_id, forged_id);
    observe(&mut a, &pa, 14.7);
    let fa2 = export(&mut a, d, "fa2", false);
    let r = merge_ok(&mut c, &fa2);
    assert_eq!((r.status, r.counts.quarantined), (MergeStatus::Merged, 0));
    assert_eq!(
        count(
            &c,
            &format!("SELECT count(*) FROM observations WHERE patrol_id = '{pa}'")
        ),
        3
    );
}

#[test]
fn many_legs_are_derived_on_every_core_with_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut a = init(d, "a");
    for k in 0..40u64 {
        import(&mut a, d, &format!("p{k}"), 30 + k as usize, 0, 100 + k);
    }
    let f = export(&mut a, d, "fa", false);
    let mut c = init(d, "c");
    merge_ok(&mut c, &f);
    let figures = |s: &Store| -> Vec<(String, String, i64, i64)> {
        rows(
            s,
            "SELECT leg_id, date, points, CAST(length_m * 1000 AS INTEGER) FROM leg_days ORDER BY leg_id, date",
        )
    };
    assert_eq!(figures(&c).len(), figures(&a).len());
    assert_eq!(figures(&c), figures(&a));
}

/// A file big enough to be written back beside its merge (4 MiB and more):
/// the same derived figures as at the outpost, the file's pages synced
/// before the commit, and a second merge a duplicate.
#[test]
fn a_big_file_merges_with_its_pages_written_back_beside() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, _) = outpost(d, "a", 150_000, 2, 3);
    let f = export(&mut a, d, "a-big", false);
    let size = std::fs::metadata(&f).unwrap().len();
    assert!(
        size >= 4 << 20,
        "{size} bytes: too small to be written back"
    );
    let mut c = init(d, "central");
    let r = merge_ok(&mut c, &f);
    assert_eq!(r.status, MergeStatus::Merged);
    let figures = "SELECT group_concat(leg_id || ' ' || date || ' ' || points || ' ' || printf('%.6f', length_m), '; ') \
                   FROM (SELECT * FROM leg_days ORDER BY leg_id, date)";
    let at = |s: &Store| -> String { value(s, figures) };
    assert_eq!(at(&c), at(&a));
    let problems = |s: &Store| -> Vec<String> {
        s.check()
            .unwrap()
            .into_iter()
            .filter(|f| f.severity == patrol_store::check::Severity::Problem)
            .map(|f| f.check)
            .collect()
    };
    // The same findings as at the outpost (the synthetic track's quality
    // notes travel with it), none of the database's own.
    assert_eq!(problems(&c), problems(&a));
    assert_eq!(merge_ok(&mut c, &f).status, MergeStatus::Duplicate);
}
