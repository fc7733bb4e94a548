//! The import across two threads, and its transactions.
//!
//! A reading thread hashes each file and parses it, and hands its events
//! over in batches through a bounded channel (so it runs at most
//! [`IN_FLIGHT`] batches ahead, and memory stays small whatever the file's
//! size). The calling thread does the rest: the duplicate checks, quality
//! control, geodesy and writing; it also hashes a lone file, so that the
//! reading thread starts parsing at once. A file whose digest the database
//! held when the run began is not parsed at all; one found a duplicate later
//! is cut short.
//!
//! Files are written in batches ([`Batching`]): one transaction for many
//! files, a savepoint for each. A file that fails rolls back its savepoint
//! only; the batch goes on. Results are handed to `durable` only once the
//! transaction that holds them is committed, so a file reported imported is
//! on disk, and a process killed in the middle leaves whole files or none.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::time::Instant;

use patrol_gpx::{Event, Point, Reader, Waypoint};
use rusqlite::Connection;

use super::extent::Extents;
use super::importer::{Ended, Importer, Run};
use super::{Batching, ImportError, ImportOptions, ImportReport, Status};
use crate::{Result, Store, StoreError};

/// Events handed over at a time.
const BATCH_EVENTS: usize = 4096;
/// Batches on their way between the threads, at most: room for the
/// reading thread to parse on (about 0.1 s) while the importing side hashes
/// a lone file.
const IN_FLIGHT: usize = 32;
/// Reading threads of a run of many files, at most.
const READERS: usize = 4;
/// `reading` is told every this many track points.
const PROGRESS_EVERY: u64 = 65_536;

/// A reader event as it travels between the threads: points by value,
/// waypoints (large, and few) boxed.
enum Item {
    Track,
    Segment,
    Point(Point),
    SegmentEnd,
    Waypoint(Box<Waypoint>),
    RoutePoint,
    /// `</trk>`: nothing to do.
    TrackEnd,
}

impl From<Event> for Item {
    fn from(e: Event) -> Self {
        match e {
            Event::TrackStart => Item::Track,
            Event::SegmentStart => Item::Segment,
            Event::Point(p) => Item::Point(p),
            Event::SegmentEnd => Item::SegmentEnd,
            Event::TrackEnd => Item::TrackEnd,
            Event::Waypoint(w) => Item::Waypoint(Box::new(w)),
            Event::RoutePoint => Item::RoutePoint,
        }
    }
}

/// How a file's reading ended: the reader's warnings, or its error.
type Ending = std::result::Result<Vec<patrol_gpx::Warning>, patrol_gpx::Error>;

/// What the reading thread sends, for each file in order: `File`, then, if
/// it parses the file, any number of `Items` and one `End`.
enum Msg {
    File {
        /// `None`: left to the importing side.
        digest: Option<std::io::Result<String>>,
        parsed: bool,
    },
    Items(Vec<Item>),
    End(Vec<Item>, Ending),
}

/// Import `files` in order, each all or nothing, many to a transaction;
/// `durable` gets each file's result, in order, once it is committed.
pub(super) fn run(
    store: &Store,
    files: &[PathBuf],
    opts: &ImportOptions,
    batching: Batching,
    reading: &mut dyn FnMut(&Path, u64),
    durable: &mut dyn FnMut(Vec<Result<ImportReport, ImportError>>),
) -> Result<(), ImportError> {
    let _tuned = Tuned::new(&store.conn)?;
    let run = Run::new(store, opts)?;
    // Files we hold already need no parsing (a folder imported again).
    let known = if files.len() > 1 {
        known_digests(&store.conn)?
    } else {
        HashSet::new()
    };
    let cancel = AtomicUsize::new(0);
    // One reading thread for a lone file; for many, as many as there are
    // cores (at most READERS), taking the files in turn: parsing is most of
    // the work, and the importing side keeps up with two.
    let readers = if files.len() > 1 {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, READERS)
            .min(files.len())
    } else {
        1
    };
    std::thread::scope(|s| {
        let mut lanes = Vec::with_capacity(readers);
        for lane in 0..readers {
            let (out, rx) = mpsc::sync_channel(IN_FLIGHT);
            let (spare_tx, spare) = mpsc::channel();
            let (known, cancel) = (&known, &cancel);
            s.spawn(move || read(files, (lane, readers), known, cancel, &out, &spare));
            lanes.push(Lane {
                rx,
                spare: spare_tx,
            });
        }
        let pipe = Pipe {
            lanes,
            cancel: &cancel,
        };
        import_all(&run, files, batching, &pipe, reading, durable)
    })
}

/// Statements cached while importing: one file's import prepares more
/// distinct statements than rusqlite's default of 16 holds, and each one
/// evicted is prepared again for the next file.
const STATEMENTS: usize = 64;
/// rusqlite's default, put back after.
const DEFAULT_STATEMENTS: usize = 16;

/// The connection set for a long run of writes, and put back as it was.
struct Tuned<'c> {
    conn: &'c Connection,
    temp_store: i64,
}

impl<'c> Tuned<'c> {
    fn new(conn: &'c Connection) -> Result<Self> {
        let temp_store = conn.pragma_query_value(None, "temp_store", |r| r.get(0))?;
        // A savepoint's journal (the pages each file changes, to roll it
        // back) in memory rather than a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        Ok(Tuned { conn, temp_store })
    }
}

impl Drop for Tuned<'_> {
    fn drop(&mut self) {
        let _ = self.conn.pragma_update(None, "temp_store", self.temp_store);
        self.conn
            .set_prepared_statement_cache_capacity(DEFAULT_STATEMENTS);
    }
}

/// The digests of every file a patrol was imported from.
fn known_digests(conn: &Connection) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT source_digest FROM patrol_versions WHERE source_digest IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A reading thread: the digest of every `lanes`th file from `lane`, and
/// the events of those it parses. A lone file is not hashed here, but on the
/// importing side while this one parses.
fn read(
    files: &[PathBuf],
    (lane, lanes): (usize, usize),
    known: &HashSet<String>,
    cancel: &AtomicUsize,
    out: &SyncSender<Msg>,
    spare: &Receiver<Vec<Item>>,
) {
    for (i, path) in files.iter().enumerate().skip(lane).step_by(lanes) {
        let (digest, parsed) = if files.len() == 1 {
            (None, true)
        } else {
            let digest = super::file_digest(path);
            let parsed = digest.as_ref().is_ok_and(|d| !known.contains(d));
            (Some(digest), parsed)
        };
        if out.send(Msg::File { digest, parsed }).is_err() {
            return;
        }
        if parsed && read_file(path, i + 1, cancel, out, spare).is_err() {
            return;
        }
    }
}

/// The importing side has gone.
struct Gone;

/// One file's events, in batches, then its end. `ticket` is what `cancel`
/// holds when the importing side wants no more of this file.
fn read_file(
    path: &Path,
    ticket: usize,
    cancel: &AtomicUsize,
    out: &SyncSender<Msg>,
    spare: &Receiver<Vec<Item>>,
) -> std::result::Result<(), Gone> {
    let fresh = || {
        spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH_EVENTS))
    };
    let end = |items, ending| out.send(Msg::End(items, ending)).map_err(|_| Gone);
    let mut items = fresh();
    let mut reader = match Reader::from_path(path) {
        Ok(r) => r,
        Err(e) => return end(items, Err(e)),
    };
    loop {
        match reader.next_event() {
            Ok(Some(e)) => {
                items.push(Item::from(e));
                if items.len() == BATCH_EVENTS {
                    let full = std::mem::replace(&mut items, fresh());
                    out.send(Msg::Items(full)).map_err(|_| Gone)?;
                    if cancel.load(Ordering::Relaxed) == ticket {
                        return end(Vec::new(), Ok(Vec::new()));
                    }
                }
            }
            Ok(None) => return end(items, Ok(reader.warnings().to_vec())),
            Err(e) => return end(items, Err(e)),
        }
    }
}

/// The importing side of the channels: file `i` comes by lane `i % lanes`.
struct Pipe<'a> {
    lanes: Vec<Lane>,
    cancel: &'a AtomicUsize,
}

impl Pipe<'_> {
    /// The lane of file `i` (from 0).
    fn lane(&self, i: usize) -> &Lane {
        &self.lanes[i % self.lanes.len()]
    }
}

/// The importing side of one reading thread's channel.
struct Lane {
    rx: Receiver<Msg>,
    /// Emptied batches go back to the reading thread, to be filled again.
    spare: Sender<Vec<Item>>,
}

impl Lane {
    fn recv(&self) -> Result<Msg, ImportError> {
        self.rx.recv().map_err(|_| {
            ImportError::Store(StoreError::Invalid(
                "the thread reading the files stopped".into(),
            ))
        })
    }

    /// Skip the rest of a file's events.
    fn drain(&self) -> Result<(), ImportError> {
        loop {
            match self.recv()? {
                Msg::Items(items) => self.recycle(items),
                Msg::End(..) => return Ok(()),
                Msg::File { .. } => unreachable!("a file begins only after the last one ended"),
            }
        }
    }

    fn recycle(&self, mut items: Vec<Item>) {
        items.clear();
        let _ = self.spare.send(items);
    }
}

/// Every file, batch after batch.
fn import_all(
    run: &Run<'_>,
    files: &[PathBuf],
    batching: Batching,
    pipe: &Pipe<'_>,
    reading: &mut dyn FnMut(&Path, u64),
    durable: &mut dyn FnMut(Vec<Result<ImportReport, ImportError>>),
) -> Result<(), ImportError> {
    let conn = &run.store.conn;
    let mut next = files.iter().enumerate().peekable();
    while next.peek().is_some() {
        let tx = crate::write_tx(conn)?;
        let began = Instant::now();
        let mut done = Vec::new();
        let mut extents = Extents::default();
        let mut lost = None;
        for (i, path) in next.by_ref() {
            let result = one_file(run, &tx, i + 1, path, pipe, reading);
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back (a full disk, an
                // I/O error): nothing of this batch is saved.
                lost = Some(match &result {
                    Err(e) => e.to_string(),
                    Ok(_) => "the transaction was rolled back".to_owned(),
                });
            }
            done.push(result.map(|ended| {
                if ended.report.status == Status::Imported {
                    extents.union(ended.extents);
                }
                ended.report
            }));
            if lost.is_some() || done.len() >= batching.files || began.elapsed() >= batching.time {
                break;
            }
        }
        let commit = match lost {
            Some(why) => Err(why),
            None => extents
                .widen(&tx)
                .and_then(|()| Ok(tx.commit()?))
                .map_err(|e| e.to_string()),
        };
        if let Err(why) = commit {
            for r in &mut done {
                if let Ok(rep) = r
                    && rep.status == Status::Imported
                {
                    *r = Err(ImportError::Store(StoreError::Invalid(format!(
                        "{}: not saved, its batch was rolled back: {why}",
                        rep.file
                    ))));
                }
            }
        }
        durable(done);
    }
    Ok(())
}

/// A file's savepoint, by cached statements (rusqlite's own prepares its
/// SQL anew each time): rolled back unless released.
struct FileSavepoint<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> FileSavepoint<'c> {
    fn begin(conn: &'c Connection) -> Result<Self> {
        conn.prepare_cached("SAVEPOINT import_file")?.execute([])?;
        Ok(FileSavepoint { conn, open: true })
    }

    /// Keep what the file wrote (in the batch's transaction).
    fn release(mut self) -> Result<()> {
        self.open = false;
        self.conn
            .prepare_cached("RELEASE import_file")?
            .execute([])?;
        Ok(())
    }
}

impl Drop for FileSavepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            // Fails only when SQLite rolled the whole transaction back already.
            for sql in ["ROLLBACK TO import_file", "RELEASE import_file"] {
                let _ = self
                    .conn
                    .prepare_cached(sql)
                    .and_then(|mut s| s.execute([]));
            }
        }
    }
}

/// One file, in a savepoint of its own: released when it was imported,
/// rolled back otherwise. `ticket` is its number from 1.
fn one_file(
    run: &Run<'_>,
    conn: &Connection,
    ticket: usize,
    path: &Path,
    pipe: &Pipe<'_>,
    reading: &mut dyn FnMut(&Path, u64),
) -> Result<Ended, ImportError> {
    reading(path, 0);
    let lane = pipe.lane(ticket - 1);
    let Msg::File { digest, parsed } = lane.recv()? else {
        unreachable!("every file begins with its digest")
    };
    let mut ended = !parsed;
    let result = (|| {
        // The reading thread leaves a lone file's digest to this one, so
        // as to start parsing at once.
        let digest = digest
            .unwrap_or_else(|| super::file_digest(path))
            .map_err(|source| ImportError::Read {
                file: path.to_owned(),
                source,
            })?;
        if let Some(dup) = run.duplicate(path, &digest)? {
            return Ok(dup.into());
        }
        let sp = FileSavepoint::begin(conn)?;
        let mut imp = Importer::new(run, conn, path, digest)?;
        let warnings = if parsed {
            piped(&mut imp, path, lane, &mut ended, reading)?
        } else {
            // Known when the run began, yet not held now: read it here.
            local(&mut imp, path, reading)?
        };
        reading(path, imp.points());
        let ended = imp.end(&warnings)?;
        if ended.report.status == Status::Imported {
            sp.release()?;
        }
        Ok(ended)
    })();
    if !ended {
        pipe.cancel.store(ticket, Ordering::Relaxed);
        lane.drain()?;
    }
    result
}

/// A file's events from the reading thread, up to its end.
fn piped(
    imp: &mut Importer<'_>,
    path: &Path,
    pipe: &Lane,
    ended: &mut bool,
    reading: &mut dyn FnMut(&Path, u64),
) -> Result<Vec<patrol_gpx::Warning>, ImportError> {
    loop {
        let (items, ending) = match pipe.recv()? {
            Msg::Items(items) => (items, None),
            Msg::End(items, ending) => {
                *ended = true;
                (items, Some(ending))
            }
            Msg::File { .. } => unreachable!("a file begins only after the last one ended"),
        };
        let mut items = items;
        for item in items.drain(..) {
            apply(imp, item)?;
            if imp.points().is_multiple_of(PROGRESS_EVERY) && imp.points() > 0 {
                reading(path, imp.points());
            }
        }
        pipe.recycle(items);
        if let Some(ending) = ending {
            return ending.map_err(|source| ImportError::Gpx {
                file: path.to_owned(),
                source,
            });
        }
    }
}

/// A file read and imported on this thread alone.
fn local(
    imp: &mut Importer<'_>,
    path: &Path,
    reading: &mut dyn FnMut(&Path, u64),
) -> Result<Vec<patrol_gpx::Warning>, ImportError> {
    let gpx_err = |source| ImportError::Gpx {
        file: path.to_owned(),
        source,
    };
    let mut reader: Reader<File> = Reader::from_path(path).map_err(gpx_err)?;
    while let Some(event) = reader.next_event().map_err(gpx_err)? {
        apply(imp, Item::from(event))?;
        if imp.points().is_multiple_of(PROGRESS_EVERY) && imp.points() > 0 {
            reading(path, imp.points());
        }
    }
    Ok(reader.warnings().to_vec())
}

/// An event to the importer's method for it.
fn apply(imp: &mut Importer<'_>, item: Item) -> Result<()> {
    match item {
        Item::Track => imp.track(),
        Item::Segment => imp.segment(),
        Item::Point(p) => imp.point(&p),
        Item::SegmentEnd => imp.segment_end()?,
        Item::Waypoint(w) => imp.waypoint(*w),
        Item::RoutePoint => imp.route_point(),
        Item::TrackEnd => {}
    }
    Ok(())
}
