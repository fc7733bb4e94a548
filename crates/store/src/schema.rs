//! Numbered, append-only migrations. GeoPackage owns `PRAGMA user_version`, so
//! our schema version lives in `patrol_migrations`.

use rusqlite::{Connection, params};

use crate::Result;

/// The migrations, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_sync.sql")),
    (3, include_str!("migrations/0003_report_indexes.sql")),
    (4, include_str!("migrations/0004_quality.sql")),
    (5, include_str!("migrations/0005_quarantine.sql")),
    (6, include_str!("migrations/0006_attributes.sql")),
    (7, include_str!("migrations/0007_data_model.sql")),
    (8, include_str!("migrations/0008_users.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The schema version of a database (0 for an empty one).
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(max(version), 0) FROM patrol_migrations",
        [],
        |r| r.get(0),
    )?)
}

/// Apply the migrations a database lacks (inside the caller's transaction).
pub fn apply_migrations(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS patrol_migrations (
           version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )?;
    let have = version(conn)?;
    for &(number, sql) in MIGRATIONS.iter().filter(|(n, _)| *n > have) {
        conn.execute_batch(sql)?;
        conn.execute(
            "INSERT INTO patrol_migrations(version, applied_at) VALUES (?1, ?2)",
            params![number, chrono::Utc::now().to_rfc3339()],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_migrations_apply_to_an_empty_database_and_again_do_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        apply_migrations(&conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        apply_migrations(&conn).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM patrol_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        let layers: i64 = conn
            .query_row("SELECT count(*) FROM gpkg_geometry_columns", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(layers, 3);
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, (n, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*n, i as i64 + 1);
        }
    }
}
