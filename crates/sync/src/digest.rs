//! A digest of a database's data: equal digests, equal data, whatever the
//! order the rows arrived in.

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::{DERIVED_TABLES, LEG_DERIVED_TABLES, SyncError, UNION_TABLES, columns};

/// blake3 (hex) of every data table's rows in key order: the merged tables
/// (sites, devices, categories, the three version tables, tracks, leg_days,
/// site_boundaries) and the current-state tables derived from them (patrols,
/// legs, observations). Left out, as local to one file: `fid` columns,
/// `patrol_meta` (device id, clock, export marks), `patrol_migrations`
/// (applied_at), the `gpkg_*` metadata tables (extents, last_change), and the
/// sync bookkeeping (`ledger`, `quarantine`).
pub fn digest(conn: &Connection) -> Result<String, SyncError> {
    let file = conn.path().map_or_else(
        || std::path::PathBuf::from(":memory:"),
        std::path::PathBuf::from,
    );
    let sqlite = SyncError::sqlite(&file);
    let mut h = blake3::Hasher::new();
    for (table, key) in UNION_TABLES
        .iter()
        .chain(LEG_DERIVED_TABLES)
        .chain(DERIVED_TABLES)
    {
        let cols = columns(conn, "main", table).map_err(&sqlite)?;
        h.update(b"T");
        h.update(table.as_bytes());
        h.update(&[0]);
        for c in &cols {
            h.update(c.as_bytes());
            h.update(&[0]);
        }
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM main.{table} ORDER BY {key}",
                cols.join(", ")
            ))
            .map_err(&sqlite)?;
        let mut rows = stmt.query([]).map_err(&sqlite)?;
        while let Some(r) = rows.next().map_err(&sqlite)? {
            h.update(b"R");
            for i in 0..cols.len() {
                match r.get_ref(i).map_err(&sqlite)? {
                    ValueRef::Null => {
                        h.update(b"n");
                    }
                    ValueRef::Integer(v) => {
                        h.update(b"i");
                        h.update(&v.to_le_bytes());
                    }
                    ValueRef::Real(v) => {
                        h.update(b"r");
                        h.update(&v.to_bits().to_le_bytes());
                    }
                    ValueRef::Text(t) => {
                        h.update(b"t");
                        h.update(&(t.len() as u64).to_le_bytes());
                        h.update(t);
                    }
                    ValueRef::Blob(b) => {
                        h.update(b"b");
                        h.update(&(b.len() as u64).to_le_bytes());
                        h.update(b);
                    }
                }
            }
        }
    }
    Ok(h.finalize().to_hex().to_string())
}
