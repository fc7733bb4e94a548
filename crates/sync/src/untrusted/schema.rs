//! The schema check: exactly our tables, indexes and columns (compared with
//! the schema our migrations build), no trigger or view but the GIS
//! additions, and our schema version or an older one (upgraded on the
//! private copy).

use std::collections::BTreeMap;
use std::path::Path;

use patrol_store::SCHEMA_VERSION;
use rusqlite::{Connection, OpenFlags};

use super::defensive;
use crate::SyncError;

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
                .query_map([name], patrol_store::row_tuple)?
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

/// The file's schema version, once it is known to hold no trigger or view
/// (but the GIS additions) and a `patrol_migrations` table; newer than ours
/// or empty is refused.
pub(super) fn version(path: &Path, conn: &Connection) -> Result<i64, SyncError> {
    let corrupt = SyncError::corrupt(path);
    let schema_err = SyncError::schema(path);
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
    Ok(version)
}

/// Every table, index and column of the file is one of ours, defined as
/// ours, and every one of ours is there.
pub(super) fn compare(path: &Path, conn: &Connection) -> Result<(), SyncError> {
    let corrupt = SyncError::corrupt(path);
    let schema_err = SyncError::schema(path);
    let (want_objects, want_tables) = reference_layout(path)?;
    let (objects, tables) = layout(conn).map_err(corrupt)?;
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
    Ok(())
}

/// Bring the private copy of an older file up to our schema.
pub(super) fn upgrade_copy(path: &Path, copy: &Path) -> Result<(), SyncError> {
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
