//! Files from elsewhere are untrusted: they are checked, in this order, before
//! any of their rows is read: size; the 100-byte SQLite header (magic, not
//! WAL, GeoPackage application id); a read-only, immutable, defensive open;
//! `quick_check`; the exact schema (no triggers, no views, our tables with our
//! columns, our schema version or an older one, upgraded on a temporary copy).
//! Then, attached read-only, every row that will be merged is validated.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use patrol_core::SiteId;
use patrol_store::records::{self, Kind, VersionMeta};
use patrol_store::{APPLICATION_ID, SCHEMA_VERSION, gpkg};
use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::SyncError;

/// A file that passed the checks made before reading its rows.
pub(crate) struct Checked {
    /// The private copy to attach (upgraded if the file was older).
    pub path: PathBuf,
    _copy: TempCopy,
    /// blake3 of the file's bytes as they were copied, hex.
    pub digest: String,
    /// The file's own device and site (its `patrol_meta`).
    pub device: String,
    pub site: String,
    /// Rows made after this hlc are all in the file (0 for a full export).
    pub since: i64,
}

/// A temporary file, removed when dropped.
pub(crate) struct TempCopy(PathBuf);

/// An incoming file, read once into a private temporary copy: everything
/// after this (hash, header, checks, upgrade, attach) sees only the copy, so
/// a file renamed or rewritten in the inbox meanwhile changes nothing.
pub(crate) struct Incoming {
    pub copy: TempCopy,
    /// blake3 of the bytes copied, hex.
    pub digest: String,
}

impl Incoming {
    pub fn path(&self) -> &Path {
        &self.copy.0
    }
}

/// Copy `path` once to a private temporary file, hashing while copying, and
/// refuse it past `max_bytes` (counted as read, whatever the file system
/// says its size is).
pub(crate) fn take_copy(path: &Path, max_bytes: u64) -> Result<Incoming, SyncError> {
    use std::io::Write as _;
    let io = SyncError::io(path);
    let too_big = |size: u64| SyncError::TooBig {
        file: path.to_owned(),
        size,
        limit: max_bytes,
    };
    // A crashed writer's journal: its uncommitted pages. (WAL files are
    // refused by their header.) Only a non-empty journal is hot.
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    let journal = PathBuf::from(journal);
    if std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
        return Err(SyncError::HotJournal {
            file: path.to_owned(),
            journal,
        });
    }
    let mut input = std::fs::File::open(path).map_err(&io)?;
    let meta = input.metadata().map_err(&io)?;
    if meta.is_file() && meta.len() > max_bytes {
        return Err(too_big(meta.len()));
    }
    let name = format!(
        "patrol-merge-{}-{}.gpkg",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    );
    let target = std::env::temp_dir().join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&target).map_err(SyncError::io(&target))?;
    // Removed on every path out of here, and after the merge.
    let copy = TempCopy(target);
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        total += n as u64;
        if total > max_bytes {
            return Err(too_big(meta.len().max(total)));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(SyncError::io(&copy.0))?;
    }
    out.flush().map_err(SyncError::io(&copy.0))?;
    drop(out);
    Ok(Incoming {
        copy,
        digest: hasher.finalize().to_hex().to_string(),
    })
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut journal = self.0.clone().into_os_string();
        journal.push("-journal");
        let _ = std::fs::remove_file(journal);
    }
}

/// The `file:` URI of a path, for opening it read-only and immutable.
pub(crate) fn uri(path: &Path, params: &str) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = String::from("file:");
    for b in abs.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out.push('?');
    out.push_str(params);
    out
}

/// Turn the defensive settings on (or back off) on a connection.
pub(crate) fn defensive(conn: &Connection, on: bool) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, on)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, !on)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, !on)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, !on)?;
    Ok(())
}

/// Open the copy `at` of the file `path` read-only, immutable, defensive.
fn open_untrusted(path: &Path, at: &Path) -> Result<Connection, SyncError> {
    let corrupt = |e: rusqlite::Error| SyncError::Corrupt {
        file: path.to_owned(),
        detail: e.to_string(),
    };
    let conn = Connection::open_with_flags(
        uri(at, "mode=ro&immutable=1"),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(corrupt)?;
    defensive(&conn, true).map_err(corrupt)?;
    conn.pragma_update(None, "cell_size_check", "ON")
        .map_err(corrupt)?;
    conn.pragma_update(None, "mmap_size", 0).map_err(corrupt)?;
    Ok(conn)
}

/// Read the header of the copy: nothing of SQLite runs on it yet. Errors
/// name `path`, the file as given.
pub(crate) fn check_header(path: &Path, incoming: &Incoming) -> Result<(), SyncError> {
    let io = SyncError::io(path);
    let size = std::fs::metadata(incoming.path()).map_err(&io)?.len();
    let not_sqlite = |why: &str| SyncError::NotSqlite {
        file: path.to_owned(),
        why: why.to_owned(),
    };
    if size < 512 {
        return Err(not_sqlite(&format!("{size} bytes is too short")));
    }
    let mut head = [0u8; 1024];
    let got = std::fs::File::open(incoming.path())
        .and_then(|f| f.take(1024).read(&mut head))
        .map_err(&io)?;
    if &head[..16] != b"SQLite format 3\0" {
        return Err(not_sqlite(&what_it_is(&head[..got])));
    }
    // Text encoding (bytes 56..60): ours is UTF-8; SQLite cannot attach a
    // UTF-16 database to a UTF-8 one.
    match u32::from_be_bytes(head[56..60].try_into().expect("4 bytes")) {
        0 | 1 => {}
        n => {
            return Err(SyncError::Schema {
                file: path.to_owned(),
                detail: format!(
                    "its text encoding is {} (patrol writes UTF-8): it was not made by patrol",
                    match n {
                        2 => "UTF-16le",
                        3 => "UTF-16be",
                        _ => "unknown",
                    }
                ),
            });
        }
    }
    if head[18] == 2 || head[19] == 2 {
        return Err(SyncError::Wal {
            file: path.to_owned(),
        });
    }
    if head[18] != 1 || head[19] != 1 {
        return Err(not_sqlite(&format!(
            "unknown file format versions {} and {}",
            head[18], head[19]
        )));
    }
    let app = u32::from_be_bytes(head[68..72].try_into().expect("4 bytes"));
    if app != APPLICATION_ID as u32 {
        return Err(SyncError::NotGeoPackage {
            file: path.to_owned(),
            found: app,
        });
    }
    Ok(())
}

/// What a file that is not SQLite seems to be, from its first bytes.
fn what_it_is(head: &[u8]) -> String {
    let (kind, text) = match head {
        [0xFF, 0xFE, rest @ ..] => (
            "UTF-16 text",
            String::from_utf16_lossy(
                &rest
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            ),
        ),
        [0xFE, 0xFF, rest @ ..] => (
            "UTF-16 text",
            String::from_utf16_lossy(
                &rest
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            ),
        ),
        [0xEF, 0xBB, 0xBF, rest @ ..] => ("UTF-8 text", String::from_utf8_lossy(rest).into_owned()),
        _ if plain_text(head).is_some() => ("text", plain_text(head).unwrap_or_default()),
        _ => return "no \"SQLite format 3\" header".into(),
    };
    let lower = text.to_lowercase();
    if lower.contains("<gpx") {
        format!("it is {kind}, a GPX file: import it with `patrol import`")
    } else {
        format!("it is {kind}, not a database: send the file `patrol export` wrote")
    }
}

/// The bytes as text, if they are UTF-8 (possibly cut mid-character at the
/// end) without control characters other than white space.
fn plain_text(head: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).expect("valid up to here")
        }
        Err(_) => return None,
    };
    (!text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace()))
    .then(|| text.to_owned())
}

/// Our geometry columns, as GeoPackage's R-tree extension names them.
const GEOMETRY_COLUMNS: [&str; 3] = ["tracks_geom", "observations_geom", "site_boundaries_geom"];

/// Objects GDAL and QGIS add to a GeoPackage of ours when a user creates a
/// spatial index or opens it for editing: the R-tree extension's table, its
/// shadow tables and triggers (OGC 12-128r18, F.3), `gpkg_extensions`, and
/// GDAL's feature-count table and triggers. Accepted, never read: an incoming
/// file is opened with triggers off, and only our own tables are merged.
fn is_gis_addition(kind: &str, name: &str) -> bool {
    let rtree_of = |name: &str| {
        GEOMETRY_COLUMNS
            .iter()
            .find_map(|c| name.strip_prefix(&format!("rtree_{c}")).map(str::to_owned))
    };
    match kind {
        "table" => {
            name == "gpkg_extensions"
                || name == "gpkg_ogr_contents"
                || rtree_of(name)
                    .is_some_and(|rest| ["", "_node", "_parent", "_rowid"].contains(&rest.as_str()))
        }
        "trigger" => {
            rtree_of(name).is_some_and(|rest| {
                rest == "_insert"
                    || rest == "_delete"
                    || rest
                        .strip_prefix("_update")
                        .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit())
            }) || GEOMETRY_COLUMNS.iter().any(|c| {
                let table = c.trim_end_matches("_geom");
                name == format!("trigger_insert_feature_count_{table}")
                    || name == format!("trigger_delete_feature_count_{table}")
            })
        }
        _ => false,
    }
}

/// One object of a schema: type, name, table, and its `sql` with white
/// space collapsed (None for SQLite's automatic indexes).
type Object = (String, String, String, Option<String>);

/// A schema: every object, and each table's columns.
type Layout = (
    Vec<Object>,
    BTreeMap<String, Vec<(String, String, bool, i64)>>,
);

/// `sql` with runs of white space made one space.
fn normalise_sql(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn layout(conn: &Connection) -> rusqlite::Result<Layout> {
    // Everything but the planner's statistics (harmless, made by ANALYZE):
    // automatic indexes (a UNIQUE constraint) and sqlite_sequence included.
    let mut objects: Vec<Object> = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema
             WHERE name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\' ORDER BY type, name",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, Option<String>>(3)?.map(|s| normalise_sql(&s)),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    objects.sort();
    let mut tables = BTreeMap::new();
    for (kind, name, _, _) in &objects {
        if kind == "table" {
            let cols = conn
                .prepare(
                    "SELECT name, type, \"notnull\", pk FROM pragma_table_xinfo(?1) ORDER BY cid",
                )?
                .query_map([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tables.insert(name.clone(), cols);
        }
    }
    Ok((objects, tables))
}

fn reference_layout(file: &Path) -> Result<Layout, SyncError> {
    let conn = Connection::open_in_memory().map_err(SyncError::sqlite(file))?;
    patrol_store::apply_migrations(&conn).map_err(SyncError::store(file))?;
    layout(&conn).map_err(SyncError::sqlite(file))
}

/// Open, check and (if older) upgrade the private copy of an incoming file
/// whose header passed. `path` is the file as given (for messages only: it is
/// never read again); `own_device` is the device of the database merging it.
pub(crate) fn check_file(
    path: &Path,
    incoming: Incoming,
    own_device: &str,
) -> Result<Checked, SyncError> {
    let corrupt = |e: rusqlite::Error| SyncError::Corrupt {
        file: path.to_owned(),
        detail: e.to_string(),
    };
    let schema_err = |detail: String| SyncError::Schema {
        file: path.to_owned(),
        detail,
    };
    let conn = open_untrusted(path, incoming.path())?;
    let quick: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(corrupt)?;
    if quick != "ok" {
        return Err(SyncError::Corrupt {
            file: path.to_owned(),
            detail: quick,
        });
    }
    let active: Option<(String, String)> = conn
        .prepare("SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view') ORDER BY type, name")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(corrupt)?
        .into_iter()
        .find(|(kind, name)| !is_gis_addition(kind, name));
    if let Some((kind, name)) = active {
        return Err(schema_err(format!(
            "it contains a {kind} ({name}); patrol files have none"
        )));
    }
    let has_migrations: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'patrol_migrations'",
            [],
            |r| r.get(0),
        )
        .map_err(corrupt)?;
    if !has_migrations {
        return Err(schema_err("it has no patrol_migrations table".into()));
    }
    let version: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM patrol_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| schema_err(format!("unreadable patrol_migrations: {e}")))?;
    if version > SCHEMA_VERSION {
        return Err(SyncError::NewerSchema {
            file: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        return Err(schema_err("patrol_migrations is empty".into()));
    }
    let conn = if version < SCHEMA_VERSION {
        drop(conn);
        upgrade_copy(path, incoming.path())?;
        open_untrusted(path, incoming.path())?
    } else {
        conn
    };
    let (want_objects, want_tables) = reference_layout(path)?;
    let (objects, tables) = layout(&conn).map_err(corrupt)?;
    for (name, cols) in &want_tables {
        match tables.get(name) {
            None => return Err(schema_err(format!("table {name} is missing"))),
            Some(have) if have != cols => {
                let names = |c: &[(String, String, bool, i64)]| {
                    c.iter()
                        .map(|(n, t, _, _)| format!("{n} {t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(schema_err(format!(
                    "table {name} has columns ({}), expected ({})",
                    names(have),
                    names(cols)
                )));
            }
            Some(_) => {}
        }
    }
    let same_object = |a: &Object, b: &Object| a.0 == b.0 && a.1 == b.1 && a.2 == b.2;
    // GIS additions, and the automatic indexes of their tables.
    let gis = |o: &Object| {
        is_gis_addition(&o.0, &o.1)
            || (o.0 == "index" && o.3.is_none() && is_gis_addition("table", &o.2))
    };
    for o in objects.iter().filter(|o| !gis(o)) {
        let (kind, name, _, sql) = o;
        match want_objects.iter().find(|w| same_object(w, o)) {
            None => return Err(schema_err(format!("unexpected {kind} {name}"))),
            Some(w) if w.3 != *sql => {
                let shown: String = sql.as_deref().unwrap_or("").chars().take(300).collect();
                return Err(schema_err(format!(
                    "{kind} {name} is not defined as ours (a rebuilt table or index: its \
                     constraints, generated columns or key may differ): {shown}"
                )));
            }
            Some(_) => {}
        }
    }
    if let Some((kind, name, _, _)) = want_objects
        .iter()
        .find(|w| !objects.iter().any(|o| same_object(w, o)))
    {
        return Err(schema_err(format!("{kind} {name} is missing")));
    }
    let meta = |key: &str| -> Result<Option<String>, SyncError> {
        conn.query_row("SELECT value FROM patrol_meta WHERE key = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .optional()
        .map_err(|e| schema_err(format!("unreadable patrol_meta: {e}")))
    };
    let device = meta("device_id")?
        .filter(|d| is_id(d))
        .ok_or_else(|| schema_err("patrol_meta has no valid device_id".into()))?;
    let site = meta("site_id")?
        .filter(|d| is_id(d))
        .ok_or_else(|| schema_err("patrol_meta has no valid site_id".into()))?;
    let since = match meta("export_since")? {
        None => 0,
        Some(s) => s
            .parse()
            .map_err(|_| schema_err(format!("patrol_meta export_since '{s}' is not a number")))?,
    };
    if device == own_device {
        return Err(SyncError::CopiedDatabase {
            file: path.to_owned(),
            detail: format!(
                "it was exported from a database with device id {device}, which is this database's own id: \
                 it is this database (nothing to merge) or a copy of it. To give a copy its own id: \
                 `patrol --db NEW.gpkg init --join COPY.gpkg`, then `patrol --db NEW.gpkg merge FILE` (an \
                 export of the copy), and use NEW.gpkg on that laptop from then on"
            ),
        });
    }
    drop(conn);
    Ok(Checked {
        path: incoming.path().to_owned(),
        _copy: incoming.copy,
        digest: incoming.digest,
        device,
        site,
        since,
    })
}

/// Bring the private copy of an older file up to our schema.
fn upgrade_copy(path: &Path, copy: &Path) -> Result<(), SyncError> {
    let fail = |e: rusqlite::Error| SyncError::Schema {
        file: path.to_owned(),
        detail: format!("cannot upgrade a copy: {e}"),
    };
    let mut conn = Connection::open_with_flags(
        copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    defensive(&conn, true).map_err(fail)?;
    conn.pragma_update(None, "journal_mode", "DELETE")
        .map_err(fail)?;
    let tx = conn.transaction().map_err(fail)?;
    patrol_store::apply_migrations(&tx).map_err(|e| SyncError::Schema {
        file: path.to_owned(),
        detail: format!("cannot upgrade a copy: {e}"),
    })?;
    tx.commit().map_err(fail)?;
    Ok(())
}

/// A canonical (lowercase, hyphenated) UUID.
pub(crate) fn is_id(s: &str) -> bool {
    s.len() == 36 && !s.bytes().any(|b| b.is_ascii_uppercase()) && uuid::Uuid::try_parse(s).is_ok()
}

fn in_range(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// The latest hlc a merge accepts: this machine's clock plus one day.
fn latest_hlc() -> i64 {
    patrol_core::clock::latest_accepted(patrol_store::now_ms())
}

/// Validation of the attached file's rows, table by table.
struct Rows<'a> {
    conn: &'a Connection,
    file: &'a Path,
    schema: &'a str,
    max_hlc: i64,
}

/// One row being checked.
struct Row<'r> {
    values: &'r rusqlite::Row<'r>,
    names: &'r [&'r str],
    table: &'r str,
    file: &'r Path,
    id: String,
}

impl Row<'_> {
    fn bad(&self, what: impl Into<String>) -> SyncError {
        SyncError::BadRow {
            file: self.file.to_owned(),
            table: self.table.to_owned(),
            id: self.id.clone(),
            what: what.into(),
        }
    }
    fn idx(&self, col: &str) -> usize {
        self.names
            .iter()
            .position(|n| *n == col)
            .expect("a column we selected")
    }
    fn value(&self, col: &str) -> Result<ValueRef<'_>, SyncError> {
        self.values
            .get_ref(self.idx(col))
            .map_err(|e| self.bad(format!("{col}: {e}")))
    }
    fn text_opt(&self, col: &str) -> Result<Option<&str>, SyncError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(Some)
                .map_err(|_| self.bad(format!("{col} is not UTF-8"))),
            other => Err(self.bad(format!("{col} is {:?}, expected text", other.data_type()))),
        }
    }
    fn text(&self, col: &str) -> Result<&str, SyncError> {
        self.text_opt(col)?
            .ok_or_else(|| self.bad(format!("{col} is null")))
    }
    fn id(&self, col: &str) -> Result<&str, SyncError> {
        let t = self.text(col)?;
        if is_id(t) {
            Ok(t)
        } else {
            Err(self.bad(format!(
                "{col} '{}' is not a UUID",
                t.chars().take(60).collect::<String>()
            )))
        }
    }
    fn int_opt(&self, col: &str) -> Result<Option<i64>, SyncError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(i) => Ok(Some(i)),
            other => Err(self.bad(format!(
                "{col} is {:?}, expected an integer",
                other.data_type()
            ))),
        }
    }
    fn int(&self, col: &str) -> Result<i64, SyncError> {
        self.int_opt(col)?
            .ok_or_else(|| self.bad(format!("{col} is null")))
    }
    fn real(&self, col: &str) -> Result<f64, SyncError> {
        match self.value(col)? {
            ValueRef::Real(f) if f.is_finite() => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(self.bad(format!(
                "{col} is {:?}, expected a finite number",
                other.data_type()
            ))),
        }
    }
    fn blob_opt(&self, col: &str) -> Result<Option<&[u8]>, SyncError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(b) => Ok(Some(b)),
            other => Err(self.bad(format!("{col} is {:?}, expected a blob", other.data_type()))),
        }
    }
    fn flag(&self, col: &str) -> Result<(), SyncError> {
        match self.int(col)? {
            0 | 1 => Ok(()),
            v => Err(self.bad(format!("{col} is {v}, expected 0 or 1"))),
        }
    }
    fn json_list(&self, col: &str, ids: bool) -> Result<(), SyncError> {
        let list: Vec<String> = serde_json::from_str(self.text(col)?)
            .map_err(|_| self.bad(format!("{col} is not a JSON array of strings")))?;
        if ids && !list.iter().all(|s| is_id(s)) {
            return Err(self.bad(format!("{col} has an entry that is not a UUID")));
        }
        Ok(())
    }
    fn hlc(&self, max: i64) -> Result<(), SyncError> {
        let h = self.int("hlc")?;
        if h <= 0 {
            return Err(self.bad(format!("hlc {h} is not positive")));
        }
        if h > max {
            let ahead = patrol_core::clock::millis(h) - patrol_store::now_ms();
            return Err(SyncError::ClockAhead {
                file: self.file.to_owned(),
                device: self.id("device_id")?.to_owned(),
                days: ahead / 86_400_000,
                table: self.table.to_owned(),
                id: self.id.clone(),
                hlc: h,
            });
        }
        Ok(())
    }
    fn digest(&self, col: &str) -> Result<&str, SyncError> {
        let d = self.text(col)?;
        if d.len() == 64
            && d.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            Ok(d)
        } else {
            Err(self.bad(format!("{col} is not a blake3 hex digest")))
        }
    }
    fn category(&self, col: &str) -> Result<(), SyncError> {
        let k = self.text(col)?;
        if !patrol_core::category::valid_key(k) {
            return Err(self.bad(format!(
                "{col} '{}' is not a category key",
                k.chars().take(60).collect::<String>()
            )));
        }
        Ok(())
    }
}

impl Rows<'_> {
    fn each(
        &self,
        table: &str,
        cols: &[&str],
        id_col: &str,
        check: &mut dyn FnMut(&Row<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let sql = format!("SELECT {} FROM {}.{table}", cols.join(", "), self.schema);
        let sqlite = SyncError::sqlite(self.file);
        let mut stmt = self.conn.prepare(&sql).map_err(&sqlite)?;
        let mut rows = stmt.query([]).map_err(&sqlite)?;
        while let Some(r) = rows.next().map_err(&sqlite)? {
            let id = match r.get_ref(
                cols.iter()
                    .position(|c| *c == id_col)
                    .expect("id column selected"),
            ) {
                Ok(ValueRef::Text(t)) => {
                    String::from_utf8_lossy(&t[..t.len().min(80)]).into_owned()
                }
                Ok(v) => format!("{:?} id", v.data_type()),
                Err(e) => e.to_string(),
            };
            let row = Row {
                values: r,
                names: cols,
                table,
                file: self.file,
                id,
            };
            check(&row)?;
        }
        Ok(())
    }

    fn versions(
        &self,
        table: &str,
        record_col: &str,
        extra: &[&str],
        check: &dyn Fn(&Row<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let mut cols = vec![
            "version_id",
            record_col,
            "parents",
            "hlc",
            "device_id",
            "site_id",
            "deleted",
            "digest",
        ];
        cols.extend_from_slice(extra);
        let max = self.max_hlc;
        self.each(table, &cols, "version_id", &mut |r| {
            r.id("version_id")?;
            r.id(record_col)?;
            r.json_list("parents", true)?;
            r.hlc(max)?;
            r.id("device_id")?;
            r.id("site_id")?;
            r.flag("deleted")?;
            r.digest("digest")?;
            check(r)
        })
    }
}

/// A geometry's header envelope, if it has one (what a spatial index reads):
/// finite, within -180..180, -90..90, and holding every point.
fn envelope(r: &Row<'_>, geom: &[u8], points: &[(f64, f64)]) -> Result<(), SyncError> {
    let has = geom.len() >= 8 && (geom[3] >> 1) & 0b111 != 0;
    let Some([min_x, max_x, min_y, max_y]) = has.then(|| gpkg::envelope_of(geom)).flatten() else {
        return if has {
            Err(r.bad("geom: the envelope is unreadable"))
        } else {
            Ok(())
        };
    };
    let finite = [min_x, max_x, min_y, max_y].iter().all(|v| v.is_finite());
    if !finite || !in_range(min_x, min_y) || !in_range(max_x, max_y) {
        return Err(r.bad(format!(
            "geom: the envelope x {min_x}..{max_x}, y {min_y}..{max_y} is not within -180..180, -90..90"
        )));
    }
    if let Some(&(x, y)) = points
        .iter()
        .find(|&&(x, y)| x < min_x || x > max_x || y < min_y || y > max_y)
    {
        return Err(r.bad(format!(
            "geom: the envelope x {min_x}..{max_x}, y {min_y}..{max_y} does not hold the point {x}, {y}"
        )));
    }
    Ok(())
}

/// A typed id from a column already checked to be one.
fn parse_id<T: std::str::FromStr>(r: &Row<'_>, col: &str) -> Result<T, SyncError> {
    r.id(col)?
        .parse()
        .map_err(|_| r.bad(format!("{col} is not a UUID")))
}

/// The version's meta, from columns already checked.
fn version_meta(r: &Row<'_>) -> Result<VersionMeta, SyncError> {
    let parents: Vec<String> = serde_json::from_str(r.text("parents")?)
        .map_err(|_| r.bad("parents is not a JSON array of strings"))?;
    Ok(VersionMeta {
        version_id: parse_id(r, "version_id")?,
        parents: parents
            .iter()
            .map(|p| p.parse().map_err(|_| r.bad("a parent is not a UUID")))
            .collect::<Result<_, _>>()?,
        hlc: r.int("hlc")?,
        device: parse_id(r, "device_id")?,
        site: parse_id(r, "site_id")?,
        deleted: r.int("deleted")? == 1,
    })
}

/// The error for a version whose stored digest is not its content's.
fn rotten(r: &Row<'_>) -> SyncError {
    r.bad(
        "its digest does not match its content: the row was changed after it was made \
         (a flipped bit on the disk or stick, or an edit by hand)",
    )
}

/// The version's stored digest is the digest of its content.
fn same_digest<T: serde::Serialize>(r: &Row<'_>, kind: Kind, content: &T) -> Result<(), SyncError> {
    let meta = version_meta(r)?;
    if records::digest(kind, &meta, content) == r.text("digest")? {
        Ok(())
    } else {
        Err(rotten(r))
    }
}

/// Each incoming patrol's first version's site (by hlc, version id, over the
/// file and this database), and whether that version is the patrol's root
/// (has no parents); and every site either knows.
type PatrolSites = (HashMap<String, (SiteId, bool)>, Vec<SiteId>);

fn patrol_sites(conn: &Connection, schema: &str, file: &Path) -> Result<PatrolSites, SyncError> {
    let sqlite = SyncError::sqlite(file);
    let sql = format!(
        "SELECT patrol_id, hlc, version_id, site_id, parents FROM {schema}.patrol_versions
         UNION ALL
         SELECT m.patrol_id, m.hlc, m.version_id, m.site_id, m.parents FROM main.patrol_versions m
         WHERE m.patrol_id IN (SELECT patrol_id FROM {schema}.patrol_versions)"
    );
    let mut first: HashMap<String, (i64, String, SiteId, bool)> = HashMap::new();
    let mut stmt = conn.prepare(&sql).map_err(&sqlite)?;
    let mut rows = stmt.query([]).map_err(&sqlite)?;
    while let Some(r) = rows.next().map_err(&sqlite)? {
        // Rows of the wrong type are refused by the row checks.
        let (Ok(patrol), Ok(hlc), Ok(version), Ok(site), Ok(parents)) = (
            r.get::<_, String>(0),
            r.get::<_, i64>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3),
            r.get::<_, String>(4),
        ) else {
            continue;
        };
        let Ok(site) = site.parse::<SiteId>() else {
            continue;
        };
        let root = parents.trim() == "[]";
        match first.get_mut(&patrol) {
            Some(f) if (f.0, f.1.as_str()) <= (hlc, version.as_str()) => {}
            Some(f) => *f = (hlc, version, site, root),
            None => {
                first.insert(patrol, (hlc, version, site, root));
            }
        }
    }
    let mut known: Vec<SiteId> = conn
        .prepare(&format!(
            "SELECT site_id FROM {schema}.sites UNION SELECT site_id FROM main.sites"
        ))
        .map_err(&sqlite)?
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(&sqlite)?
        .filter_map(|s| s.ok().and_then(|s| s.parse().ok()))
        .collect();
    known.sort();
    Ok((
        first
            .into_iter()
            .map(|(p, (_, _, site, root))| (p, (site, root)))
            .collect(),
        known,
    ))
}

/// Validate every row of the attached file `schema` that a merge reads. The
/// first bad row rejects the file.
pub(crate) fn validate_rows(conn: &Connection, schema: &str, file: &Path) -> Result<(), SyncError> {
    let v = Rows {
        conn,
        file,
        schema,
        max_hlc: latest_hlc(),
    };
    v.each(
        "sites",
        &["site_id", "name", "timezone", "origin_device"],
        "site_id",
        &mut |r| {
            r.id("site_id")?;
            r.text("name")?;
            let tz = r.text("timezone")?;
            patrol_core::time::parse_zone(tz).map_err(|e| r.bad(e.to_string()))?;
            r.id("origin_device")?;
            Ok(())
        },
    )?;
    v.each(
        "devices",
        &["device_id", "site_id", "first_seen"],
        "device_id",
        &mut |r| {
            r.id("device_id")?;
            r.id("site_id")?;
            r.text("first_seen")?;
            Ok(())
        },
    )?;
    v.each(
        "categories",
        &[
            "key",
            "label",
            "threat",
            "aliases",
            "origin_device",
            "origin_site",
        ],
        "key",
        &mut |r| {
            r.category("key")?;
            r.text("label")?;
            r.flag("threat")?;
            r.json_list("aliases", false)?;
            r.id("origin_device")?;
            r.id("origin_site")?;
            Ok(())
        },
    )?;
    let (first_sites, known_sites) = patrol_sites(conn, schema, file)?;
    v.versions(
        "patrol_versions",
        "patrol_id",
        &[
            "team",
            "leader",
            "objective",
            "origin_device",
            "source_digest",
            "source_file",
        ],
        &|r| {
            let meta = version_meta(r)?;
            let patrol_id: &str = r.id("patrol_id")?;
            let mut content = patrol_core::Patrol {
                id: parse_id(r, "patrol_id")?,
                site: meta.site,
                team: r.text("team")?.to_owned(),
                leader: r.text_opt("leader")?.map(str::to_owned),
                objective: r.text_opt("objective")?.map(str::to_owned),
                origin_device: parse_id(r, "origin_device")?,
                source_digest: r.text_opt("source_digest")?.map(str::to_owned),
                source_file: r.text_opt("source_file")?.map(str::to_owned),
            };
            // A patrol's content names the site of its first version; when
            // that (parentless) version is neither here nor in the file, any
            // site we know may be it.
            let want = r.text("digest")?;
            let candidates = match first_sites.get(patrol_id) {
                Some((site, true)) => std::slice::from_ref(site),
                _ => known_sites.as_slice(),
            };
            for site in candidates {
                content.site = *site;
                if records::digest(Kind::Patrol, &meta, &content) == want {
                    return Ok(());
                }
            }
            Err(rotten(r))
        },
    )?;
    v.versions(
        "leg_versions",
        "leg_id",
        &[
            "patrol_id",
            "transport",
            "members",
            "member_names",
            "date",
            "fix_overrides",
        ],
        &|r| {
            r.id("patrol_id")?;
            if let Some(d) = r.text_opt("date")?
                && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
            {
                return Err(r.bad("date is not YYYY-MM-DD"));
            }
            if let Some(o) = r.text_opt("fix_overrides")? {
                serde_json::from_str::<Vec<patrol_core::qc::FixOverride>>(o)
                    .map_err(|_| r.bad("fix_overrides is not a list of {segment, point, keep}"))?;
            }
            let t = r.text("transport")?;
            if patrol_core::Transport::from_stored(t).is_none() {
                return Err(r.bad(format!(
                    "transport '{}' is not one of ours",
                    t.chars().take(40).collect::<String>()
                )));
            }
            let m = r.int("members")?;
            if !u32::try_from(m).is_ok_and(|m| patrol_core::model::MEMBERS.contains(&m)) {
                return Err(r.bad(format!(
                    "members is {m}, not {}..={}",
                    patrol_core::model::MIN_MEMBERS,
                    patrol_core::model::MAX_MEMBERS
                )));
            }
            r.json_list("member_names", false)?;
            let content = patrol_core::Leg {
                id: parse_id(r, "leg_id")?,
                patrol: parse_id(r, "patrol_id")?,
                transport: patrol_core::Transport::from_stored(t).expect("checked above"),
                members: u32::try_from(m).expect("checked above"),
                member_names: serde_json::from_str(r.text("member_names")?).expect("checked above"),
                date: r
                    .text_opt("date")?
                    .map(|d| d.parse().expect("checked above")),
                fix_overrides: r
                    .text_opt("fix_overrides")?
                    .map(|o| serde_json::from_str(o).expect("checked above"))
                    .unwrap_or_default(),
            };
            same_digest(r, Kind::Leg, &content)
        },
    )?;
    v.versions(
        "observation_versions",
        "observation_id",
        &[
            "patrol_id",
            "category",
            "time_us",
            "lon",
            "lat",
            "raw_name",
            "note",
        ],
        &|r| {
            r.id("patrol_id")?;
            r.category("category")?;
            r.int_opt("time_us")?;
            let (lon, lat) = (r.real("lon")?, r.real("lat")?);
            if !in_range(lon, lat) {
                return Err(r.bad(format!(
                    "position lon {lon}, lat {lat} is outside -180..180, -90..90"
                )));
            }
            let content = patrol_core::Observation {
                id: parse_id(r, "observation_id")?,
                patrol: parse_id(r, "patrol_id")?,
                category: r.text("category")?.to_owned(),
                time: r.int_opt("time_us")?,
                lon,
                lat,
                raw_name: r.text_opt("raw_name")?.map(str::to_owned),
                note: r.text_opt("note")?.map(str::to_owned),
            };
            same_digest(r, Kind::Observation, &content)
        },
    )?;
    let max = v.max_hlc;
    v.each(
        "tracks",
        &[
            "piece_id",
            "geom",
            "digest",
            "patrol_id",
            "leg_id",
            "segment_no",
            "piece_no",
            "points",
            "length_m",
            "start_time",
            "end_time",
            "times",
            "ele",
            "device_id",
            "site_id",
            "hlc",
        ],
        "piece_id",
        &mut |r| {
            for c in ["piece_id", "patrol_id", "leg_id", "device_id", "site_id"] {
                r.id(c)?;
            }
            r.hlc(max)?;
            let digest = r.digest("digest")?;
            let geom = r.blob_opt("geom")?.ok_or_else(|| r.bad("geom is null"))?;
            let pts = gpkg::read_line_string(geom).map_err(|e| r.bad(format!("geom: {e}")))?;
            if let Some(&(x, y)) = pts.iter().find(|&&(x, y)| !in_range(x, y)) {
                return Err(r.bad(format!(
                    "a track point lon {x}, lat {y} is outside -180..180, -90..90"
                )));
            }
            let n = r.int("points")?;
            let n_ok =
                usize::try_from(n).is_ok_and(|n| n == pts.len() || (n == 1 && pts.len() == 2));
            if !n_ok {
                return Err(r.bad(format!("points is {n} but geom has {}", pts.len())));
            }
            let times = r.blob_opt("times")?.unwrap_or_default();
            let ele = r.blob_opt("ele")?;
            let want = n as usize * 8;
            if times.len() != want || ele.is_some_and(|e| e.len() != want) {
                return Err(r.bad("times or ele does not hold 8 bytes per point"));
            }
            let mut h = blake3::Hasher::new();
            h.update(geom);
            h.update(times);
            if let Some(e) = ele {
                h.update(e);
            }
            if h.finalize().to_hex().as_str() != digest {
                return Err(r.bad("digest does not match the piece's points"));
            }
            envelope(r, geom, &pts)?;
            r.int("segment_no")?;
            r.int("piece_no")?;
            let len = r.real("length_m")?;
            if len < 0.0 {
                return Err(r.bad("negative length_m"));
            }
            r.text_opt("start_time")?;
            r.text_opt("end_time")?;
            Ok(())
        },
    )?;
    v.each(
        "leg_days",
        &[
            "leg_id",
            "date",
            "patrol_id",
            "site_id",
            "points",
            "length_m",
            "seconds",
            "active_seconds",
        ],
        "leg_id",
        &mut |r| {
            for c in ["leg_id", "patrol_id", "site_id"] {
                r.id(c)?;
            }
            let d = r.text("date")?;
            if !d.is_empty() && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(r.bad(format!(
                    "date '{}' is not YYYY-MM-DD",
                    d.chars().take(20).collect::<String>()
                )));
            }
            if r.int("points")? < 0 {
                return Err(r.bad("negative points"));
            }
            for c in ["length_m", "seconds", "active_seconds"] {
                if r.real(c)? < 0.0 {
                    return Err(r.bad(format!("negative {c}")));
                }
            }
            Ok(())
        },
    )?;
    v.each(
        "qc_settings",
        &["site_id", "settings"],
        "site_id",
        &mut |r| {
            r.id("site_id")?;
            let s: patrol_core::qc::QcSettings = serde_json::from_str(r.text("settings")?)
                .map_err(|e| r.bad(format!("settings: {e}")))?;
            s.validate().map_err(|e| r.bad(format!("settings: {e}")))
        },
    )?;
    v.each(
        "leg_qc",
        &[
            "leg_id",
            "patrol_id",
            "site_id",
            "version_id",
            "fixes",
            "raw_length_m",
            "length_m",
            "first_us",
            "last_us",
            "first_date",
            "warnings",
            "import_warnings",
        ],
        "leg_id",
        &mut |r| {
            for c in ["leg_id", "patrol_id", "site_id", "version_id"] {
                r.id(c)?;
            }
            if r.int("fixes")? < 0 {
                return Err(r.bad("negative fixes"));
            }
            for c in ["raw_length_m", "length_m"] {
                if r.real(c)? < 0.0 {
                    return Err(r.bad(format!("negative {c}")));
                }
            }
            r.int_opt("first_us")?;
            r.int_opt("last_us")?;
            if let Some(d) = r.text_opt("first_date")?
                && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
            {
                return Err(r.bad("first_date is not YYYY-MM-DD"));
            }
            for c in ["warnings", "import_warnings"] {
                serde_json::from_str::<Vec<patrol_core::effort::Warning>>(r.text(c)?)
                    .map_err(|e| r.bad(format!("{c}: {e}")))?;
            }
            Ok(())
        },
    )?;
    v.each(
        "fix_marks",
        &["leg_id", "segment_no", "point_no", "mark", "excluded"],
        "leg_id",
        &mut |r| {
            r.id("leg_id")?;
            if r.int("segment_no")? < 0 || r.int("point_no")? < 0 {
                return Err(r.bad("negative segment_no or point_no"));
            }
            let m = r.text("mark")?;
            if patrol_core::qc::Mark::parse(m).is_none() {
                return Err(r.bad(format!(
                    "mark '{}' is not one of ours",
                    m.chars().take(40).collect::<String>()
                )));
            }
            r.flag("excluded")
        },
    )?;
    v.each(
        "fix_samples",
        &["leg_id", "t_s", "lon", "lat"],
        "leg_id",
        &mut |r| {
            r.id("leg_id")?;
            r.int("t_s")?;
            let (lon, lat) = (r.real("lon")?, r.real("lat")?);
            if !in_range(lon, lat) {
                return Err(r.bad("a sample is outside -180..180, -90..90"));
            }
            Ok(())
        },
    )?;
    v.each(
        "site_boundaries",
        &["version_id", "geom", "site_id", "hlc", "device_id"],
        "version_id",
        &mut |r| {
            for c in ["version_id", "site_id", "device_id"] {
                r.id(c)?;
            }
            r.hlc(max)?;
            let geom = r.blob_opt("geom")?.ok_or_else(|| r.bad("geom is null"))?;
            let polys = gpkg::read_multi_polygon(geom).map_err(|e| r.bad(format!("geom: {e}")))?;
            let pts: Vec<(f64, f64)> = polys.into_iter().flatten().flatten().collect();
            if pts.iter().any(|&(x, y)| !in_range(x, y)) {
                return Err(r.bad("a boundary point is outside -180..180, -90..90"));
            }
            envelope(r, geom, &pts)
        },
    )?;
    // Not merged (rebuilt from versions), but read by a spatial index in QGIS.
    v.each(
        "observations",
        &["observation_id", "geom"],
        "observation_id",
        &mut |r| {
            let Some(geom) = r.blob_opt("geom")? else {
                return Ok(());
            };
            let p = gpkg::read_point(geom).map_err(|e| r.bad(format!("geom: {e}")))?;
            if !in_range(p.0, p.1) {
                return Err(r.bad("the point is outside -180..180, -90..90"));
            }
            envelope(r, geom, &[p])
        },
    )?;
    v.each(
        "gpkg_contents",
        &["table_name", "min_x", "min_y", "max_x", "max_y"],
        "table_name",
        &mut |r| {
            for (x, y) in [("min_x", "min_y"), ("max_x", "max_y")] {
                let (vx, vy) = (r.value(x)?, r.value(y)?);
                if vx == ValueRef::Null && vy == ValueRef::Null {
                    continue;
                }
                if !in_range(r.real(x)?, r.real(y)?) {
                    return Err(r.bad("bounds are outside -180..180, -90..90"));
                }
            }
            Ok(())
        },
    )?;
    cycles(conn, schema, file)?;
    references(conn, schema, file)
}

/// No record's versions, in the file and here together, name each other as
/// parents in a cycle: such a record has no head, and whether it shows would
/// depend on the order files arrive in. Only cycles through a version new
/// here count (one already here is listed by `patrol conflicts`).
fn cycles(conn: &Connection, schema: &str, file: &Path) -> Result<(), SyncError> {
    let sqlite = SyncError::sqlite(file);
    for kind in Kind::ALL {
        let (t, rec) = (kind.versions_table(), kind.id_column());
        let sql = format!(
            "SELECT i.version_id, i.{rec}, i.parents,
               NOT EXISTS (SELECT 1 FROM main.{t} m WHERE m.version_id = i.version_id)
             FROM {schema}.{t} i
             UNION
             SELECT m.version_id, m.{rec}, m.parents, 0 FROM main.{t} m
             WHERE m.{rec} IN (SELECT {rec} FROM {schema}.{t})
               AND NOT EXISTS (SELECT 1 FROM {schema}.{t} i WHERE i.version_id = m.version_id)"
        );
        // record -> version -> (parents, new here)
        let mut graph: HashMap<String, HashMap<String, (Vec<String>, bool)>> = HashMap::new();
        let mut stmt = conn.prepare(&sql).map_err(&sqlite)?;
        let mut rows = stmt.query([]).map_err(&sqlite)?;
        while let Some(r) = rows.next().map_err(&sqlite)? {
            let (version, record, parents, new): (String, String, String, bool) = (
                r.get(0).map_err(&sqlite)?,
                r.get(1).map_err(&sqlite)?,
                r.get(2).map_err(&sqlite)?,
                r.get(3).map_err(&sqlite)?,
            );
            let parents: Vec<String> = serde_json::from_str(&parents).unwrap_or_default();
            if parents.is_empty() {
                graph.entry(record).or_default();
                continue;
            }
            graph
                .entry(record)
                .or_default()
                .insert(version, (parents, new));
        }
        for versions in graph.values() {
            if let Some(cycle) = find_cycle(versions) {
                return Err(SyncError::BadRow {
                    file: file.to_owned(),
                    table: t.to_owned(),
                    id: cycle[0].clone(),
                    what: format!(
                        "the {} record's versions name each other as parents in a cycle ({}): \
                         the record would have no head",
                        kind.name(),
                        cycle.join(" -> ")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// A cycle through at least one new version, as a path of version ids
/// (first = last), if the parent links hold one.
fn find_cycle(versions: &HashMap<String, (Vec<String>, bool)>) -> Option<Vec<String>> {
    // Iterative depth-first search; 1 = on the path, 2 = done.
    let mut state: HashMap<&str, u8> = HashMap::new();
    let mut starts: Vec<&String> = versions.keys().collect();
    starts.sort();
    for start in starts {
        if state.contains_key(start.as_str()) {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        state.insert(start, 1);
        while let Some(&mut (v, ref mut next)) = path.last_mut() {
            let parents = &versions[v].0;
            if let Some(p) = parents.get(*next) {
                *next += 1;
                if !versions.contains_key(p) {
                    continue;
                }
                match state.get(p.as_str()) {
                    Some(1) => {
                        let at = path.iter().position(|(x, _)| *x == p).expect("on the path");
                        let cycle: Vec<&str> = path[at..].iter().map(|(x, _)| *x).collect();
                        if cycle.iter().any(|x| versions[*x].1) {
                            let mut out: Vec<String> =
                                cycle.iter().map(|x| (*x).to_owned()).collect();
                            out.push(p.clone());
                            return Some(out);
                        }
                    }
                    Some(_) => {}
                    None => {
                        state.insert(p, 1);
                        path.push((p, 0));
                    }
                }
            } else {
                state.insert(v, 2);
                path.pop();
            }
        }
    }
    None
}

/// Every device and site a row names is described in the file (or here).
fn references(conn: &Connection, schema: &str, file: &Path) -> Result<(), SyncError> {
    let sqlite = SyncError::sqlite(file);
    let known = |table: &str, col: &str| -> Result<HashSet<String>, SyncError> {
        let sql =
            format!("SELECT {col} FROM {schema}.{table} UNION SELECT {col} FROM main.{table}");
        conn.prepare(&sql)
            .map_err(&sqlite)?
            .query_map([], |r| r.get(0))
            .map_err(&sqlite)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&sqlite)
    };
    let devices = known("devices", "device_id")?;
    let sites = known("sites", "site_id")?;
    for (table, key) in crate::STAMPED_TABLES {
        let sql = format!(
            "SELECT min({key}), device_id, site_id FROM {schema}.{table} GROUP BY device_id, site_id"
        );
        let mut stmt = conn.prepare(&sql).map_err(&sqlite)?;
        let mut rows = stmt.query([]).map_err(&sqlite)?;
        while let Some(r) = rows.next().map_err(&sqlite)? {
            let (id, device, site): (String, String, String) = (
                r.get(0).map_err(&sqlite)?,
                r.get(1).map_err(&sqlite)?,
                r.get(2).map_err(&sqlite)?,
            );
            let what = if devices.contains(&device) {
                if sites.contains(&site) {
                    continue;
                }
                format!("site {site} is in neither the file's sites nor ours")
            } else {
                format!("device {device} is in neither the file's devices nor ours")
            };
            return Err(SyncError::BadRow {
                file: file.to_owned(),
                table: (*table).to_owned(),
                id,
                what,
            });
        }
    }
    Ok(())
}
