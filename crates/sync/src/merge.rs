//! Merge: the set union of two databases' immutable rows, in one transaction.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use patrol_store::Store;
use patrol_store::derive::{LegPlan, Measured};
use patrol_store::exchange::in_ledger;
use patrol_store::records::{self, Kind};
use rusqlite::{Connection, OptionalExtension, params};

use crate::untrusted::{self, Checked};
use crate::{
    LedgerEntry, Limits, MergeCounts, MergeReport, MergeStatus, STAMPED_TABLES, SyncError,
    UNION_TABLES, columns,
};

/// The schema name the incoming file is attached as.
const INC: &str = "sync_incoming";

/// Files from this size up are written back beside the merge
/// ([`patrol_store::writeback`]); a smaller one's commit has little to wait on.
const WRITEBACK_FROM_BYTES: u64 = 4 << 20;

/// Merge one exported file into a database. A rejected file leaves the
/// database exactly as it was; a file merged before is reported as
/// [`MergeStatus::Duplicate`] and changes nothing.
pub fn merge(store: &mut Store, file: &Path, limits: &Limits) -> Result<MergeReport, SyncError> {
    // The file is read once, into a private copy (removed when `checked` or
    // `incoming` is dropped, whatever happens): the digest in the ledger is
    // the digest of the bytes merged.
    let incoming = untrusted::take_copy(file, limits.max_bytes)?;
    untrusted::check_header(file, &incoming)?;
    if store
        .in_ledger(&incoming.digest)
        .map_err(SyncError::sqlite(file))?
    {
        return Ok(MergeReport::new(
            file,
            MergeStatus::Duplicate,
            MergeCounts::default(),
        ));
    }
    let own = store.device().to_string();
    let checked = untrusted::check_file(file, incoming, &own)?;
    let since = checked.since;
    // Beside the merge, on other threads: the pages' integrity, and the
    // track pieces (the bulk of a file) checked, then the legs new here
    // measured from them while they are copied.
    let stop_measuring = AtomicBool::new(false);
    let (plans_to, plans) = mpsc::channel::<Vec<LegPlan>>();
    std::thread::scope(|scope| {
        let pages = (!checked.pages_ok)
            .then(|| scope.spawn(|| untrusted::quick_check(file, &checked.path)));
        let (stop, at) = (&stop_measuring, checked.path.as_path());
        let tracks = scope.spawn(move || tracks_pass(file, at, plans, stop));
        let beside = Beside {
            pages,
            tracks: Some(tracks),
            plans: Some(plans_to),
            stop_measuring: stop,
        };
        merge_checked(store, file, &checked, beside)
    })
    .map_err(|e| {
        // A delta's rows will not be in the next delta: say so.
        if since > 0 {
            SyncError::RejectedDelta {
                since,
                source: Box::new(e),
            }
        } else {
            e
        }
    })
}

/// The track pieces checked, and the legs new here measured from them, on
/// connections of the file's own: a bad piece rejects the file; the legs are
/// measured (once the plans come) until the copy is done, on other threads
/// while the pieces are checked. What is measured is used only once every
/// piece has passed (and a piece that does not decode to positions on Earth
/// is not measured).
fn tracks_pass(
    file: &Path,
    at: &Path,
    plans: mpsc::Receiver<Vec<LegPlan>>,
    stop: &AtomicBool,
) -> Result<(untrusted::TrackStamps, Vec<Measured>), SyncError> {
    std::thread::scope(|scope| {
        let measuring = scope.spawn(move || {
            let plans = plans.recv().ok().filter(|p| !p.is_empty())?;
            let source = untrusted::open_untrusted(file, at).ok()?;
            patrol_store::derive::measure_legs(&source, plans, stop).ok()
        });
        let stamps = untrusted::open_untrusted(file, at)
            .and_then(|source| untrusted::validate_tracks(&source, "main", file));
        if stamps.is_err() {
            // Nothing measured will be used.
            stop.store(true, Ordering::Relaxed);
        }
        // A leg that could not be measured here is derived from our copy
        // of its pieces, once they are checked.
        let measured = measuring.join().ok().flatten().unwrap_or_default();
        Ok((stamps?, measured))
    })
}

type Joined<'s, T> = std::thread::ScopedJoinHandle<'s, T>;
type TracksResult = Result<(untrusted::TrackStamps, Vec<Measured>), SyncError>;

/// The work done beside the merge: joined where its results are needed,
/// and before any error is reported (a corrupt file is refused as
/// corrupt, a bad piece as a bad piece, whatever went wrong after).
struct Beside<'s, 'a> {
    pages: Option<Joined<'s, Result<(), SyncError>>>,
    tracks: Option<Joined<'s, TracksResult>>,
    /// Dropped once the plans are sent (or the merge ends): the tracks
    /// pass stops waiting for them.
    plans: Option<mpsc::Sender<Vec<LegPlan>>>,
    /// Set once the pieces are copied (or the merge ends).
    stop_measuring: &'a AtomicBool,
}

fn joined<T>(h: Joined<'_, T>) -> T {
    h.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

impl Beside<'_, '_> {
    /// The pages' integrity (once).
    fn pages(&mut self) -> Result<(), SyncError> {
        self.pages.take().map_or(Ok(()), joined)
    }

    /// Measuring stops (the pieces are copied, or the merge ends), and no
    /// plans will come.
    fn stop(&mut self) {
        self.stop_measuring.store(true, Ordering::Relaxed);
        self.plans = None;
    }

    /// The track pieces' checks, and the legs measured (once).
    fn tracks(&mut self, conn: &Connection, file: &Path) -> Result<Vec<Measured>, SyncError> {
        self.stop();
        let Some(h) = self.tracks.take() else {
            return Ok(Vec::new());
        };
        let (stamps, measured) = joined(h)?;
        untrusted::track_references(conn, INC, file, &stamps)?;
        Ok(measured)
    }

    /// The error to report for `e`: the file's corruption or a bad piece
    /// first, when there is one.
    fn first_cause(&mut self, conn: &Connection, file: &Path, e: SyncError) -> SyncError {
        if let Err(corrupt) = self.pages() {
            return corrupt;
        }
        match self.tracks(conn, file) {
            Err(bad) => bad,
            Ok(_) => e,
        }
    }
}

fn merge_checked(
    store: &mut Store,
    file: &Path,
    checked: &Checked,
    mut beside: Beside<'_, '_>,
) -> Result<MergeReport, SyncError> {
    let attached =
        match store.attach_untrusted(&untrusted::uri(&checked.path, "mode=ro&immutable=1"), INC) {
            Ok(a) => a,
            Err(e) => {
                let e = SyncError::Corrupt {
                    file: file.to_owned(),
                    detail: e.to_string(),
                };
                beside.stop();
                return Err(beside.pages().err().unwrap_or(e));
            }
        };
    let conn = attached.conn();
    let result = merge_attached(conn, file, checked, &mut beside)
        .map_err(|e| beside.first_cause(conn, file, e));
    // Whatever happened, the threads beside stop before the file is detached.
    beside.stop();
    let _ = conn.execute_batch(
        "DROP TABLE IF EXISTS temp.sync_touched; DROP TABLE IF EXISTS temp.sync_dirty_patrols;
         DROP TABLE IF EXISTS temp.sync_piece_legs",
    );
    // Dropping `attached` detaches the file and turns defensive mode off.
    result
}

fn merge_attached(
    conn: &Connection,
    file: &Path,
    checked: &Checked,
    beside: &mut Beside<'_, '_>,
) -> Result<MergeReport, SyncError> {
    let sqlite = SyncError::sqlite(file);
    // Every row but the track pieces is validated before the write lock is
    // taken; the pieces are being checked beside, and nothing is derived
    // from them until they pass.
    untrusted::validate_rows(conn, INC, file)?;
    let tx = patrol_store::write_tx(conn).map_err(&sqlite)?;
    if in_ledger(&tx, &checked.digest).map_err(&sqlite)? {
        return Ok(MergeReport::new(
            file,
            MergeStatus::Duplicate,
            MergeCounts::default(),
        ));
    }
    let mut counts = MergeCounts {
        quarantined: detect_copy(&tx, file, checked)?,
        ..MergeCounts::default()
    };

    // What is new: records whose set of versions grows.
    tx.execute_batch(
        "CREATE TEMP TABLE sync_touched(kind INTEGER NOT NULL, record_id TEXT NOT NULL, existed INTEGER NOT NULL,
           PRIMARY KEY (kind, record_id)) WITHOUT ROWID",
    )
    .map_err(&sqlite)?;
    for (n, kind) in Kind::ALL.iter().enumerate() {
        let (t, id) = (kind.versions_table(), kind.id_column());
        tx.execute(
            &format!(
                "INSERT OR IGNORE INTO temp.sync_touched(kind, record_id, existed)
                 SELECT ?1, i.{id}, EXISTS (SELECT 1 FROM main.{t} m2 WHERE m2.{id} = i.{id})
                 FROM {INC}.{t} i
                 WHERE NOT EXISTS (SELECT 1 FROM main.{t} m WHERE m.version_id = i.version_id)"
            ),
            [n as i64],
        )
        .map_err(&sqlite)?;
    }

    // Track pieces get row numbers above every earlier one (AUTOINCREMENT):
    // those above this one are the pieces the union adds.
    let pieces_before: i64 = tx
        .query_row("SELECT coalesce(max(rowid), 0) FROM main.tracks", [], |r| {
            r.get(0)
        })
        .map_err(&sqlite)?;

    // Same id, different content: keep ours, quarantine theirs.
    for (table, key) in UNION_TABLES
        .iter()
        .filter(|(t, _)| !matches!(*t, "sites" | "devices" | "categories"))
    {
        counts.quarantined += quarantine(&tx, file, &checked.digest, table, key)?;
    }

    // The union; track pieces last (below), while their legs are measured.
    for (table, _) in UNION_TABLES.iter().filter(|(t, _)| *t != "tracks") {
        let n = union(&tx, table).map_err(&sqlite)?;
        if matches!(
            *table,
            "model_versions"
                | "patrol_versions"
                | "leg_versions"
                | "observation_versions"
                | "site_boundaries"
        ) {
            counts.new_versions += n;
        }
    }
    // A category no one defined: keep the observation, define the key plainly.
    tx.execute(
        &format!(
            "INSERT INTO main.categories(key, label, threat, aliases, origin_device, origin_site)
             SELECT category, category, 0, '[]', min(device_id), min(site_id) FROM {INC}.observation_versions
             WHERE category NOT IN (SELECT key FROM main.categories) GROUP BY category
             ON CONFLICT DO NOTHING"
        ),
        [],
    )
    .map_err(&sqlite)?;

    // Rebuild the current state of every record that gained versions.
    let touched: Vec<(i64, String, bool)> = tx
        .prepare("SELECT kind, record_id, existed FROM temp.sync_touched ORDER BY kind, record_id")
        .map_err(&sqlite)?
        .query_map([], patrol_store::row_tuple)
        .map_err(&sqlite)?
        .collect::<rusqlite::Result<_>>()
        .map_err(&sqlite)?;
    let store_err = SyncError::store(file);
    let mut model_touched = false;
    for (kind, id, existed) in &touched {
        let kind = Kind::ALL[*kind as usize];
        let definition = kind == Kind::Definition;
        model_touched |= definition;
        let shown = |tx: &Connection| -> Result<Option<String>, SyncError> {
            tx.query_row(
                "SELECT body FROM main.model_definitions WHERE record_key = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(&sqlite)
        };
        let before = if definition { shown(&tx)? } else { None };
        records::refresh(&tx, kind, id).map_err(&store_err)?;
        if records::heads(&tx, kind, id).map_err(&store_err)?.len() > 1 {
            counts.conflicts += 1;
        }
        // A definition made the same way elsewhere changes nothing here.
        if definition && *existed && shown(&tx)? == before {
            continue;
        }
        if *existed {
            counts.records_changed += 1;
        } else {
            counts.records_added += 1;
        }
    }
    // Categories and observations' threat follow the definitions.
    if model_touched {
        patrol_store::model::project(&tx).map_err(&store_err)?;
    }
    // A patrol's site is its first version's, whichever order versions came in.
    tx.execute_batch(
        "CREATE TEMP TABLE sync_dirty_patrols(patrol_id TEXT PRIMARY KEY) WITHOUT ROWID;
         INSERT OR IGNORE INTO temp.sync_dirty_patrols SELECT record_id FROM temp.sync_touched WHERE kind = 0;
         UPDATE main.patrols SET site_id = (SELECT f.site_id FROM main.patrol_versions f
             WHERE f.patrol_id = patrols.patrol_id ORDER BY f.hlc, f.version_id LIMIT 1)
           WHERE patrol_id IN (SELECT patrol_id FROM temp.sync_dirty_patrols);
         UPDATE main.observations SET site_id = (SELECT f.site_id FROM main.patrol_versions f
             WHERE f.patrol_id = observations.patrol_id ORDER BY f.hlc, f.version_id LIMIT 1)
           WHERE patrol_id IN (SELECT patrol_id FROM temp.sync_dirty_patrols);",
    )
    .map_err(&sqlite)?;

    // Track pieces. While they are copied, the legs new here are measured
    // on other threads from the file's copy of their pieces (everything else
    // they derive from is here now), until the copy is done; each result is
    // kept only if the leg's stored track turns out to be exactly those
    // pieces. Any leg not measured so is derived below, as it would be anyway.
    let plans = new_legs(&tx)
        .ok()
        .and_then(|legs| patrol_store::derive::plan_legs(&tx, &legs).ok());
    if let (Some(plans), Some(to)) = (plans, beside.plans.take()) {
        let _ = to.send(plans);
    }
    // The bulk of the writing starts here: the pages written go to disk
    // beside the work, not all at the commit (for a file big enough that
    // its commit would wait on them).
    let big = std::fs::metadata(&checked.path).is_ok_and(|m| m.len() >= WRITEBACK_FROM_BYTES);
    let writeback = big
        .then(|| patrol_store::writeback::Writeback::start_for(&tx))
        .flatten();
    let added = union(&tx, "tracks");
    // Every piece is sound (and the file's pages) before anything is
    // derived from them.
    beside.pages()?;
    let measured = beside.tracks(&tx, file)?;
    counts.track_pieces += added.map_err(&sqlite)?;
    // Legs whose track grows here (their derived rows must follow): those of
    // the pieces just added, read from an index (a piece's geometry comes
    // first in its row, so reading its other columns reads the geometry).
    tx.execute(
        "CREATE TEMP TABLE sync_piece_legs(leg_id TEXT PRIMARY KEY) WITHOUT ROWID",
        [],
    )
    .map_err(&sqlite)?;
    tx.execute(
        "INSERT OR IGNORE INTO temp.sync_piece_legs
         SELECT leg_id FROM main.tracks INDEXED BY tracks_leg WHERE rowid > ?1",
        [pieces_before],
    )
    .map_err(&sqlite)?;

    // Rows derived per leg are never taken from a file (a file can lie about
    // them): every leg whose track grew, and every leg whose rows are missing
    // or name another version than its head, is derived here from its track.
    let legs: Vec<String> = tx
        .prepare(
            "SELECT leg_id FROM temp.sync_piece_legs
             UNION SELECT l.leg_id FROM main.legs l LEFT JOIN main.leg_qc q ON q.leg_id = l.leg_id
               WHERE q.leg_id IS NULL OR q.version_id <> l.version_id
             ORDER BY 1",
        )
        .map_err(&sqlite)?
        .query_map([], |r| r.get(0))
        .map_err(&sqlite)?
        .collect::<rusqlite::Result<_>>()
        .map_err(&sqlite)?;
    let mut measured_here = std::collections::HashSet::new();
    for m in &measured {
        // Kept when its stored pieces are all new here and as many as it was
        // measured from: then they are the file's, copied as they were.
        let (stored, oldest): (i64, Option<i64>) = tx
            .query_row(
                "SELECT count(*), min(rowid) FROM main.tracks INDEXED BY tracks_leg WHERE leg_id = ?1",
                [m.leg_id()],
                patrol_store::row_tuple,
            )
            .map_err(&sqlite)?;
        let same = usize::try_from(stored).is_ok_and(|n| n == m.pieces)
            && oldest.is_some_and(|r| r > pieces_before);
        if same
            && legs
                .binary_search_by(|l| l.as_str().cmp(m.leg_id()))
                .is_ok()
        {
            patrol_store::derive::write_measured(&tx, m).map_err(&store_err)?;
            measured_here.insert(m.leg_id().to_owned());
        }
    }
    let legs: Vec<String> = legs
        .into_iter()
        .filter(|l| !measured_here.contains(l))
        .collect();
    patrol_store::derive::rebuild_legs(&tx, &legs).map_err(&store_err)?;

    // Layer extents: the union of both files'.
    tx.execute_batch(&format!(
        "UPDATE main.gpkg_contents AS m SET
           min_x = min(coalesce(m.min_x, i.min_x), coalesce(i.min_x, m.min_x)),
           min_y = min(coalesce(m.min_y, i.min_y), coalesce(i.min_y, m.min_y)),
           max_x = max(coalesce(m.max_x, i.max_x), coalesce(i.max_x, m.max_x)),
           max_y = max(coalesce(m.max_y, i.max_y), coalesce(i.max_y, m.max_y)),
           last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now')
         FROM {INC}.gpkg_contents AS i
         WHERE i.table_name = m.table_name AND i.min_x IS NOT NULL
           AND m.table_name IN ('tracks', 'observations', 'site_boundaries')"
    ))
    .map_err(&sqlite)?;

    // Our clock moves past everything seen.
    let mut max_hlc = 0i64;
    for (table, _) in STAMPED_TABLES {
        let h: Option<i64> = tx
            .query_row(&format!("SELECT max(hlc) FROM {INC}.{table}"), [], |r| {
                r.get(0)
            })
            .map_err(&sqlite)?;
        max_hlc = max_hlc.max(h.unwrap_or(0));
    }
    patrol_store::observe_hlc(&tx, max_hlc).map_err(&store_err)?;

    tx.execute(
        "INSERT INTO main.ledger(file_digest, file_name, device_id, site_id, merged_at, counts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            checked.digest,
            file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            ),
            checked.device,
            checked.site,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            serde_json::to_string(&counts).expect("counts serialise"),
        ],
    )
    .map_err(&sqlite)?;
    drop(writeback);
    tx.commit().map_err(&sqlite)?;
    Ok(MergeReport::new(file, MergeStatus::Merged, counts))
}

/// Insert the incoming rows of a table whose key is not here (set union);
/// how many.
fn union(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    let cols = columns(conn, "main", table)?.join(", ");
    let n = conn.execute(
        &format!(
            "INSERT INTO main.{table} ({cols}) SELECT {cols} FROM {INC}.{table} WHERE true ON CONFLICT DO NOTHING"
        ),
        [],
    )?;
    Ok(n as u64)
}

/// Legs of the incoming track pieces that have no piece here (from the
/// track indexes alone).
fn new_legs(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare(&format!(
        "SELECT DISTINCT i.leg_id FROM {INC}.tracks i INDEXED BY tracks_leg
         WHERE NOT EXISTS (SELECT 1 FROM main.tracks m INDEXED BY tracks_leg WHERE m.leg_id = i.leg_id)
         ORDER BY 1"
    ))?
    .query_map([], |r| r.get(0))?
    .collect()
}

/// Copy incoming rows whose key we hold with other content into `quarantine`.
fn quarantine(
    conn: &Connection,
    file: &Path,
    digest: &str,
    table: &str,
    key: &str,
) -> Result<u64, SyncError> {
    let sqlite = SyncError::sqlite(file);
    let cols = columns(conn, "main", table).map_err(&sqlite)?;
    let differs = cols
        .iter()
        .map(|c| format!("m.{c} IS NOT i.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let json = cols
        .iter()
        .map(|c| format!("'{c}', CASE WHEN typeof(i.{c}) = 'blob' THEN hex(i.{c}) ELSE i.{c} END"))
        .collect::<Vec<_>>()
        .join(", ");
    let keys: Vec<&str> = key.split(", ").collect();
    let join = keys
        .iter()
        .map(|k| format!("m.{k} = i.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    // The ids in both, from the key indexes alone, before any row is read
    // whole (a track piece's geometry comes first in its row).
    let ikeys = keys
        .iter()
        .map(|k| format!("i.{k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let i2keys = keys
        .iter()
        .map(|k| format!("i2.{k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let join2 = keys
        .iter()
        .map(|k| format!("m2.{k} = i2.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let row_id = keys
        .iter()
        .map(|k| format!("i.{k}"))
        .collect::<Vec<_>>()
        .join(" || '/' || ");
    let n = conn
        .execute(
            &format!(
                "INSERT INTO main.quarantine(table_name, row_id, incoming, file_digest, reason)
                 SELECT ?1, {row_id}, json_object({json}), ?2,
                   'the id is already here with different content; ours is kept'
                 FROM {INC}.{table} i JOIN main.{table} m ON {join}
                 WHERE ({ikeys}) IN (SELECT {i2keys} FROM {INC}.{table} i2 JOIN main.{table} m2 ON {join2})
                   AND ({differs})
                 ON CONFLICT DO NOTHING"
            ),
            params![table, digest],
        )
        .map_err(&sqlite)?;
    Ok(n as u64)
}

/// One device id, two histories: the file is from device D and holds D's rows
/// up to hlc H, so it must hold every row D made after the file's `since` and
/// up to H. A row of D's that we hold in that range and the file lacks was
/// made by another database using D's id: a forged row (another device's
/// file stamped it with D's id) or a copied database. Which is true cannot
/// be told from here, and refusing the file would block D for good: each
/// such row is kept and listed in `quarantine` as disputed (once), for a
/// person to look at. Returns how many were listed.
fn detect_copy(conn: &Connection, file: &Path, checked: &Checked) -> Result<u64, SyncError> {
    const REASON: &str = "disputed: made under the id of a device whose own file lacks it, though that file \
        holds all the device's rows of that time: another database made it under that id (a forged row, or a \
        copied database). Kept here; if it is wrong, put the record right (patrol edit, delete or conflicts \
        resolve), then record the decision with patrol quarantine drop";
    let sqlite = SyncError::sqlite(file);
    let mut max_own = None::<i64>;
    for (table, _) in STAMPED_TABLES {
        let h: Option<i64> = conn
            .query_row(
                &format!("SELECT max(hlc) FROM {INC}.{table} WHERE device_id = ?1"),
                [&checked.device],
                |r| r.get(0),
            )
            .map_err(&sqlite)?;
        max_own = max_own.max(h);
    }
    let Some(upto) = max_own else {
        return Ok(0);
    };
    let mut n = 0;
    for (table, key) in STAMPED_TABLES {
        let cols = columns(conn, "main", table).map_err(&sqlite)?;
        let json = cols
            .iter()
            .map(|c| {
                format!("'{c}', CASE WHEN typeof(m.{c}) = 'blob' THEN hex(m.{c}) ELSE m.{c} END")
            })
            .collect::<Vec<_>>()
            .join(", ");
        n += conn
            .execute(
                &format!(
                    "INSERT INTO main.quarantine(table_name, row_id, incoming, file_digest, reason)
                     SELECT ?1, m.{key}, json_object({json}), ?5, ?6
                     FROM main.{table} m
                     WHERE m.device_id = ?2 AND m.hlc > ?3 AND m.hlc <= ?4
                       AND NOT EXISTS (SELECT 1 FROM {INC}.{table} i WHERE i.{key} = m.{key})
                       AND NOT EXISTS (SELECT 1 FROM main.quarantine q WHERE q.table_name = ?1
                                       AND q.row_id = m.{key} AND q.reason LIKE 'disputed:%')
                     ON CONFLICT DO NOTHING"
                ),
                params![
                    table,
                    checked.device,
                    checked.since,
                    upto,
                    checked.digest,
                    REASON
                ],
            )
            .map_err(&sqlite)? as u64;
    }
    Ok(n)
}

/// The files merged into this database, oldest first.
pub fn ledger(store: &Store) -> Result<Vec<LedgerEntry>, SyncError> {
    let rows = store.ledger().map_err(SyncError::sqlite(store.path()))?;
    Ok(rows
        .into_iter()
        .map(|r| LedgerEntry {
            file_digest: r.file_digest,
            file: r.file_name.clone(),
            file_name: r.file_name,
            device_id: r.device_id,
            site_id: r.site_id,
            merged_at: r.merged_at,
            counts: serde_json::from_str(&r.counts).unwrap_or_default(),
            site_name: r.site_name,
        })
        .collect())
}
