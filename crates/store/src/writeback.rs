//! Writing back beside a long write transaction.
//!
//! A transaction that writes tens of megabytes (a merge's track pieces, a
//! bulk import) spills SQLite's page cache into the database file as it
//! goes; the kernel holds those pages until the commit's sync, which then
//! waits for all of them at once, with nothing else to do. A [`Writeback`]
//! asks for them on another thread while the transaction still works, so
//! the commit's sync finds little left. It changes no ordering SQLite
//! relies on: the pages were written by SQLite already (after its journal
//! was synced), and the commit syncs as it always does.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The most database files a process keeps a descriptor of.
#[cfg(unix)]
const KEPT_OPEN_MAX: usize = 16;

/// How long the writer thread rests between two syncs.
const PAUSE: Duration = Duration::from_millis(1);

/// A thread syncing a database file's data to disk until dropped.
pub struct Writeback {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writeback {
    /// Start syncing the file at `path` (the database the transaction
    /// writes). `None` when it cannot be opened, or off Unix (nothing is
    /// lost: the commit syncs anyway).
    pub fn start(path: &Path) -> Option<Writeback> {
        let file = kept_open(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("writeback".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // A failure here is the commit's to report.
                        let _ = file.sync_data();
                        std::thread::sleep(PAUSE);
                    }
                })
                .ok()?
        };
        Some(Writeback {
            stop,
            thread: Some(thread),
        })
    }

    /// The database file a connection's main schema is (`None` in memory).
    pub fn start_for(conn: &rusqlite::Connection) -> Option<Writeback> {
        let path = conn.path().filter(|p| !p.is_empty())?;
        Writeback::start(Path::new(path))
    }
}

/// A descriptor of the file at `path`, opened once per file and never
/// closed. Closing any descriptor of a file releases every POSIX lock the
/// process holds on it, SQLite's included (SQLite defers closing its own
/// for this reason): one closed here in the middle of a transaction, or
/// while another connection of the process reads, would let another
/// process write under it.
#[cfg(unix)]
fn kept_open(path: &Path) -> Option<Arc<std::fs::File>> {
    use std::os::unix::fs::MetadataExt as _;
    static OPEN: Mutex<Vec<(u64, u64, Arc<std::fs::File>)>> = Mutex::new(Vec::new());
    let meta = std::fs::metadata(path).ok()?;
    let mut open = OPEN.lock().ok()?;
    if let Some((_, _, f)) = open
        .iter()
        .find(|(dev, ino, _)| *dev == meta.dev() && *ino == meta.ino())
    {
        return Some(f.clone());
    }
    // A process that writes many databases (a test run) keeps a few open,
    // then writes back no more: the commit syncs anyway.
    if open.len() >= KEPT_OPEN_MAX {
        return None;
    }
    let file = Arc::new(std::fs::File::open(path).ok()?);
    open.push((meta.dev(), meta.ino(), file.clone()));
    Some(file)
}

#[cfg(not(unix))]
fn kept_open(_: &Path) -> Option<Arc<std::fs::File>> {
    None
}

impl Drop for Writeback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD_DB: &str = "PATROL_WRITEBACK_TEST_DB";

    fn temp_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("patrol-writeback-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir(&d).unwrap();
        d
    }

    /// Whether another process can take the write lock of the file now.
    fn another_process_may_write(db: &Path) -> bool {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "writeback::tests::child_tries_to_write",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, db)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{said}");
        if said.contains("child: locked") {
            false
        } else {
            assert!(said.contains("child: wrote"), "{said}");
            true
        }
    }

    #[test]
    #[ignore = "run by another_process_waits_for_a_transaction_beside_a_writeback, in a process of its own"]
    fn child_tries_to_write() {
        let Some(db) = std::env::var_os(CHILD_DB) else {
            return;
        };
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.busy_timeout(Duration::ZERO).unwrap();
        match conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (2); COMMIT") {
            Ok(()) => println!("child: wrote"),
            Err(e) => println!("child: locked ({e})"),
        }
    }

    #[test]
    fn another_process_waits_for_a_transaction_beside_a_writeback() {
        let dir = temp_dir();
        let db = dir.join("db.sqlite");
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE t(x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        // A writeback started and stopped (twice: the second finds the
        // descriptor kept open) leaves the transaction's lock held.
        for _ in 0..2 {
            let w = Writeback::start_for(&conn).expect("started");
            std::thread::sleep(Duration::from_millis(10));
            drop(w);
        }
        assert!(!another_process_may_write(&db));
        // The hazard is real: a descriptor of the file opened and closed
        // here releases the lock, and the other process writes.
        drop(std::fs::File::open(&db).unwrap());
        assert!(another_process_may_write(&db));
        drop(conn);
        assert!(Writeback::start(&dir.join("missing")).is_none());
        let mem = rusqlite::Connection::open_in_memory().unwrap();
        assert!(Writeback::start_for(&mem).is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
