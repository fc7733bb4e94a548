//! patrol-store: the patrol database, a GeoPackage 1.3 file (SQLite) that QGIS
//! and GDAL open as it is.
//!
//! Layers: `tracks` (LINESTRING pieces of GPS track segments), `observations`
//! (POINT), `site_boundaries` (MULTIPOLYGON); attribute tables `patrols`, `legs`.
//! Behind the current-state tables, every patrol, leg and observation is a set
//! of immutable versions (`*_versions`), so that databases merge without loss
//! (see docs/SYNC.md).
//!
//! ```no_run
//! use patrol_store::Store;
//! use patrol_core::category::DataModel;
//! let store = Store::init("patrol.gpkg".as_ref(), "Thap Lan", "Asia/Bangkok", &DataModel::default_model())?;
//! # Ok::<(), patrol_store::StoreError>(())
//! ```

#![warn(missing_docs)]

mod boundary;
pub mod check;
pub mod conflicts;
pub mod derive;
pub mod edit;
pub mod exchange;
pub mod gpkg;
pub mod history;
pub mod import;
pub mod listing;
pub mod model;
pub mod quality;
pub mod quarantine;
pub mod query;
mod recorded;
pub mod records;
mod report;
mod schema;
pub mod users;
pub mod web;
pub mod writeback;

use std::path::{Path, PathBuf};

use patrol_core::category::DataModel;
use patrol_core::{DeviceId, Site, SiteId};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

pub use schema::{SCHEMA_VERSION, apply_migrations};

/// GeoPackage's application id: 'GPKG'.
pub const APPLICATION_ID: i32 = 0x4750_4B47;
/// GeoPackage 1.3 (Debian's GDAL 3.6 reads 1.3, warns on 1.4).
pub const GPKG_USER_VERSION: i32 = 10_300;

/// What can go wrong with a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No file at this path (`patrol init` makes one).
    #[error("{0}: no such database (create one with `patrol init`)")]
    NotFound(PathBuf),
    /// A file is already where a new database would be made; it is not overwritten.
    #[error("{0}: a file is already there; refusing to overwrite it")]
    Exists(PathBuf),
    /// The file opens but is not a patrol database (not SQLite, not a GeoPackage, or no home site).
    #[error("{path}: not a patrol database: {why}")]
    NotPatrolDb {
        /// The file's path.
        path: PathBuf,
        /// What is wrong with it, for a person (e.g. "application_id is 0x0, not GPKG").
        why: String,
    },
    #[error(
        "{path}: made by a newer patrol (schema {found}, this one knows {known}); upgrade patrol"
    )]
    /// The database's schema is newer than this build knows.
    NewerSchema {
        /// The file's path.
        path: PathBuf,
        /// The schema version the file holds.
        found: i64,
        /// The newest schema version this build knows (`SCHEMA_VERSION`).
        known: i64,
    },
    /// Something a person asked for does not make sense or is not allowed; the message says what.
    #[error("{0}")]
    Invalid(String),
    /// No record of this kind matches the id given.
    #[error("no {kind} with id {id}")]
    NoSuchRecord {
        /// What was looked for: "patrol", "leg", "observation", "patrol, leg or observation" or "quarantined row".
        kind: &'static str,
        /// The id, or the text a person gave for it (trimmed, lower-cased).
        id: String,
    },
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file's path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// A store result; the error is a `StoreError` unless told otherwise.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A boundary row: geometry, version id, site id, clock, device.
type Boundary = (Vec<u8>, String, String, i64, String);

/// An open patrol database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    device: DeviceId,
    site: Site,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn configure(conn: &Connection) -> Result<()> {
    gpkg::register_functions(conn)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "journal_mode", "DELETE")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// Begin a write transaction IMMEDIATE: it takes the write lock before it
/// reads, so while another process writes it waits (the busy timeout of
/// [`configure`], 30 s) instead of failing at once with "database is locked"
/// when it reads first and writes later, as a deferred transaction does.
/// Every transaction that writes begins here.
pub fn write_tx(conn: &Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
}

/// A row's columns, in order, as a tuple (`.query_map([], row_tuple)`):
/// the one place a row becomes a tuple.
pub fn row_tuple<T>(r: &rusqlite::Row<'_>) -> rusqlite::Result<T>
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    T::try_from(r)
}

/// A new time-ordered (v7) identity. Ids are made here, never in the core
/// (which has no clock), and handed to it.
pub fn new_id<T: From<uuid::Uuid>>() -> T {
    uuid::Uuid::now_v7().into()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Create a new database for a new site, with a data model.
    pub fn init(path: &Path, site_name: &str, timezone: &str, model: &DataModel) -> Result<Store> {
        if site_name.trim().is_empty() {
            return Err(StoreError::Invalid("the site needs a name".into()));
        }
        let site = Site {
            id: new_id(),
            name: site_name.trim().to_owned(),
            timezone: timezone.to_owned(),
        };
        Self::create(path, site, model, &[], &[])
    }

    /// Create a new database (a new device) for the site of an existing
    /// database: its site id, name and zone, data model and boundaries. This is
    /// how an outpost laptop joins a site, so that what it records merges into
    /// the site's central database as the same site.
    pub fn init_joining(path: &Path, template: &Path) -> Result<Store> {
        let from = Store::open_read_only(template)?;
        let model = from.data_model()?;
        let mut stmt = from.conn.prepare(
            "SELECT geom, version_id, site_id, hlc, device_id FROM site_boundaries ORDER BY fid",
        )?;
        let boundaries = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<Vec<Boundary>>>()?;
        drop(stmt);
        // The site's definitions are copied as they are (the same versions),
        // so the devices that join a site share its model, not copies of it.
        let definitions: Vec<model::DefinitionRow> = from
            .conn
            .prepare(
                "SELECT version_id, record_key, parents, hlc, device_id, site_id, deleted, digest, body
                 FROM model_versions ORDER BY hlc, version_id",
            )?
            .query_map([], row_tuple)?
            .collect::<rusqlite::Result<_>>()?;
        let store = Self::create(path, from.site.clone(), &model, &boundaries, &definitions)?;
        // The devices the copied boundaries and definitions name travel with
        // them, so that this database's files describe every device their
        // rows name.
        let mut stmt = from.conn.prepare(
            "SELECT device_id, site_id, first_seen FROM devices
             WHERE device_id IN (SELECT device_id FROM site_boundaries
                                 UNION SELECT device_id FROM model_versions)",
        )?;
        let devices = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (device, site, first_seen) in devices {
            store.conn.execute(
                "INSERT INTO devices(device_id, site_id, first_seen) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![device, site, first_seen],
            )?;
        }
        Ok(store)
    }

    fn create(
        path: &Path,
        site: Site,
        model: &DataModel,
        boundaries: &[Boundary],
        definitions: &[model::DefinitionRow],
    ) -> Result<Store> {
        if path.exists() {
            return Err(StoreError::Exists(path.to_owned()));
        }
        patrol_core::time::parse_zone(&site.timezone)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        model
            .validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut conn = Connection::open(path)?;
        let device = match Self::fill(&mut conn, &site, model, boundaries, definitions) {
            Ok(device) => device,
            Err(e) => {
                // No half-made database is left behind.
                drop(conn);
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
        };
        Ok(Store {
            conn,
            path: path.to_owned(),
            device,
            site,
        })
    }

    /// Write a new database's rows: its meta, device, site, data model (the
    /// `definitions` copied as they are, or else `model`'s, made here) and
    /// boundaries.
    fn fill(
        conn: &mut Connection,
        site: &Site,
        model: &DataModel,
        boundaries: &[Boundary],
        definitions: &[model::DefinitionRow],
    ) -> Result<DeviceId> {
        configure(conn)?;
        let device: DeviceId = new_id();
        let tx = write_tx(conn)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", GPKG_USER_VERSION)?;
        apply_migrations(&tx)?;
        let now = chrono::Utc::now().to_rfc3339();
        for (k, v) in [
            ("device_id", device.to_string()),
            ("site_id", site.id.to_string()),
            ("hlc", "0".to_owned()),
            ("last_export_hlc", "0".to_owned()),
            ("created_at", now.clone()),
        ] {
            tx.execute(
                "INSERT INTO patrol_meta(key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.execute(
            "INSERT INTO devices(device_id, site_id, first_seen) VALUES (?1, ?2, ?3)",
            params![device.to_string(), site.id.to_string(), now],
        )?;
        tx.execute(
            "INSERT INTO sites(site_id, name, timezone, origin_device) VALUES (?1, ?2, ?3, ?4)",
            params![
                site.id.to_string(),
                site.name,
                site.timezone,
                device.to_string()
            ],
        )?;
        if definitions.is_empty() {
            model::write(&tx, model, device, site.id)?;
        } else {
            model::copy(&tx, definitions)?;
        }
        derive::insert_qc_settings(&tx, &site.id.to_string(), &model.qc)?;
        for (geom, version, site_id, hlc, by) in boundaries {
            tx.execute(
                "INSERT INTO site_boundaries(geom, version_id, site_id, hlc, device_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![geom, version, site_id, hlc, by],
            )?;
            observe_hlc(&tx, *hlc)?;
        }
        tx.commit()?;
        Ok(device)
    }

    /// Open a database of ours only to read it (no upgrade, no write). A
    /// database of an older schema reads as the upgrade would leave it: the
    /// tables added since are there, empty (see `stand_in_for_newer_tables`).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Self::from_connection(conn, path, false)
    }

    /// Open an existing database of ours (upgrading its schema if it is older).
    pub fn open(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Self::from_connection(conn, path, true)
    }

    fn from_connection(conn: Connection, path: &Path, writable: bool) -> Result<Store> {
        let not_ours = |why: String| StoreError::NotPatrolDb {
            path: path.to_owned(),
            why,
        };
        let app: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| not_ours(e.to_string()))?;
        if app != APPLICATION_ID {
            return Err(not_ours(format!("application_id is {app:#x}, not GPKG")));
        }
        if writable {
            configure(&conn)?;
        } else {
            gpkg::register_functions(&conn)?;
        }
        let version =
            schema::version(&conn).map_err(|_| not_ours("it has no patrol tables".into()))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version < SCHEMA_VERSION && !writable {
            stand_in_for_newer_tables(&conn)?;
        }
        if version < SCHEMA_VERSION && writable {
            let tx = write_tx(&conn)?;
            apply_migrations(&tx)?;
            // Rows derived by an older patrol are derived again by today's rules.
            if version < 4 {
                derive::rebuild_stale(&tx)?;
            }
            if version < 7 {
                model::adopt_flat_categories(&tx)?;
            }
            tx.commit()?;
        }
        let meta = |conn: &Connection, key: &str| -> Result<String> {
            conn.query_row("SELECT value FROM patrol_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| not_ours(format!("patrol_meta has no {key}")))
        };
        let device: DeviceId = meta(&conn, "device_id")?
            .parse()
            .map_err(|_| not_ours("bad device_id".into()))?;
        let site_id: SiteId = meta(&conn, "site_id")?
            .parse()
            .map_err(|_| not_ours("bad site_id".into()))?;
        let site = query::site(&conn, site_id)?
            .ok_or_else(|| not_ours("its home site is missing".into()))?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            device,
            site,
        })
    }

    /// The path the database was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f`, whose reads (many statements) then see one snapshot of the
    /// database, in one read transaction: another process's commit lands
    /// before or after them all, and the file is locked once, not once a
    /// statement. Nothing is written (the transaction ends with a rollback).
    pub fn reading<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| E::from(e.into()))?;
        let out = f();
        drop(tx);
        out
    }

    /// A second connection to the database, to read on another thread in
    /// the snapshot this one reads in: call it inside [`Store::reading`]
    /// once this connection has read (its shared lock is then held, so no
    /// write can land between the two snapshots). It takes its own shared
    /// lock at once and does not wait for it: `None` when a writer is
    /// waiting for the lock, or the file cannot be opened again; the caller
    /// then reads on this one connection.
    pub fn second_reader(&self) -> Option<SecondReader> {
        let store = Store::open_read_only(&self.path).ok()?;
        store.conn.busy_timeout(std::time::Duration::ZERO).ok()?;
        // Its reads go through each table once: a small page cache will do.
        store.conn.pragma_update(None, "cache_size", -512).ok()?;
        store.conn.execute_batch("BEGIN").ok()?;
        let read: rusqlite::Result<i64> =
            store
                .conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0));
        read.ok()?;
        if store.conn.is_autocommit() {
            return None;
        }
        Some(SecondReader(store))
    }

    /// Whether SQLite can write the database (it opens a file it may not
    /// write read-only, without an error).
    pub fn writable(&self) -> bool {
        self.conn.is_readonly(rusqlite::MAIN_DB).is_ok_and(|ro| !ro)
    }

    /// The raw connection, for tests and examples only (the store's own
    /// unit tests, and feature
    /// `test-sql`, which patrol-sync's dev-dependencies turn on: they set up
    /// odd databases and look at rows by hand). Only the store issues SQL on
    /// its database; patrol-sync does on [`exchange::Attached`].
    #[cfg(any(test, feature = "test-sql"))]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// This database's own device.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// This database's home site.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The data model stored in the database, with this site's quality-control settings.
    pub fn data_model(&self) -> Result<DataModel> {
        let mut model = query::data_model(&self.conn)?;
        model.qc = derive::qc_settings(&self.conn, &self.site.id.to_string())?;
        Ok(model)
    }
}

/// A [`Store`] reading in a snapshot taken by [`Store::second_reader`]
/// (ended when it is dropped): [`Store`]'s reads through `Deref`, to be
/// used on another thread.
pub struct SecondReader(Store);

impl std::ops::Deref for SecondReader {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.0
    }
}

impl Drop for SecondReader {
    fn drop(&mut self) {
        let _ = self.0.conn.execute_batch("ROLLBACK");
    }
}

/// An older database opened read-only is not upgraded, so the tables that
/// later migrations add are missing: each gets a stand-in, an empty
/// temporary table of today's definition (the temp schema is searched first,
/// and is writable on a read-only connection). So every read sees what the
/// upgrade makes of an older database there: no rows (no quality-control
/// settings: the defaults), and nothing else answers for an older schema.
fn stand_in_for_newer_tables(conn: &Connection) -> Result<()> {
    let reference = Connection::open_in_memory()?;
    apply_migrations(&reference)?;
    let tables: Vec<(String, String)> = reference
        .prepare(
            "SELECT name, sql FROM sqlite_schema
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?
        .query_map([], row_tuple)?
        .collect::<rusqlite::Result<_>>()?;
    for (name, sql) in tables {
        let have: bool = conn.query_row(
            "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
            [&name],
            |r| r.get(0),
        )?;
        if let Some(rest) = sql.strip_prefix("CREATE TABLE").filter(|_| !have) {
            conn.execute_batch(&format!("CREATE TEMP TABLE{rest}"))?;
        }
    }
    Ok(())
}

/// The next hybrid-logical-clock value of this database (and remember it).
pub fn next_hlc(conn: &Connection) -> Result<i64> {
    let last: i64 = conn.query_row(
        "SELECT CAST(value AS INTEGER) FROM patrol_meta WHERE key = 'hlc'",
        [],
        |r| r.get(0),
    )?;
    let next = patrol_core::clock::tick(last, now_ms());
    conn.execute(
        "UPDATE patrol_meta SET value = ?1 WHERE key = 'hlc'",
        [next.to_string()],
    )?;
    Ok(next)
}

/// Remember a clock value seen elsewhere (a merged version), so that later
/// local versions sort after it; never past now plus
/// [`patrol_core::clock::MAX_AHEAD_MS`], whatever was seen.
pub fn observe_hlc(conn: &Connection, seen: i64) -> Result<()> {
    let seen = seen.min(patrol_core::clock::latest_accepted(now_ms()));
    conn.execute(
        "UPDATE patrol_meta SET value = CAST(max(CAST(value AS INTEGER), ?1) AS TEXT) WHERE key = 'hlc'",
        [seen],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::new_id;
    use patrol_core::ObservationId;
    use patrol_core::ids::{SHORT_ID_LEN, short_id};

    #[test]
    fn ids_made_in_the_same_millisecond_have_distinct_random_short_ids() {
        let ids: Vec<ObservationId> = (0..2000).map(|_| new_id()).collect();
        let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let shorts: std::collections::BTreeSet<&str> = texts.iter().map(|t| short_id(t)).collect();
        assert_eq!(shorts.len(), ids.len(), "short ids collide");
        // Made in a burst, they share a long prefix (time and counter)...
        let same_prefix = texts
            .windows(2)
            .filter(|w| w[0][..20] == w[1][..20])
            .count();
        assert!(same_prefix > 0);
        // ...but their last 8 hex digits are random, not a counter: consecutive
        // ids do not differ by small steps there.
        let small_steps = texts
            .windows(2)
            .filter(|w| {
                let a = u32::from_str_radix(short_id(&w[0]), 16).unwrap();
                let b = u32::from_str_radix(short_id(&w[1]), 16).unwrap();
                a.abs_diff(b) < 1 << 16
            })
            .count();
        assert!(small_steps < 20, "{small_steps}");
        assert_eq!(ids[0].short(), short_id(&texts[0]));
        assert_eq!(short_id(&texts[0]).len(), SHORT_ID_LEN);
    }
}
